/** Loads what `scripts/start.ts` loads and exits: the start-up cost of the machine, as a baseline for timing tests. */
import '../../src/lib/config';
import '../../scripts/lib/build';
import '../../scripts/lib/env';
