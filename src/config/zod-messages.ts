/**
 * English messages for zod/mini, which ships none (its issues would all read "Invalid input"). Imported for
 * its effect by the modules whose issues reach an operator: the config schema and the price file.
 * Start-up code uses zod/mini rather than the classic API because only the mini functions tree-shake: the
 * classic `z` pulls all of zod into the start-up graph, ~10 MB resident in every pod (#15).
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());
