/** YAML (and JSON, its subset) for the files llmtap reads at start; see yaml-loader.ts for why it is not imported. */
import type { ParseOptions } from 'yaml';
import { loadYamlOnce } from './yaml-loader.ts';

export const parseYaml = (text: string, options?: ParseOptions & { maxAliasCount?: number }): unknown =>
  loadYamlOnce().parse(text, options);
