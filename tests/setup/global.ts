// Filled in by the database fixtures (migrated template built once per run).
export default async function setup() {}
