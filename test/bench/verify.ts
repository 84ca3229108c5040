/** Byte-for-byte check of every answer kind through a target, against what the upstream sends (= direct). */
import { post } from './net.ts';
import { answerFor, type Mode, requestBody } from './payloads.ts';
import type { Target } from './targets.ts';

const CHECKED: readonly Mode[] = ['json', 'sse', 'ttft', 'large', 'huge', 'e400', 'e500'];

export interface VerifyResult {
  readonly target: string;
  readonly checked: number;
  readonly problems: readonly string[];
}

export const verifyTarget = async (target: Target, repeat = 3): Promise<VerifyResult> => {
  const problems: string[] = [];
  let checked = 0;
  for (let i = 0; i < repeat; i++) {
    for (const mode of CHECKED) {
      const expected = answerFor(mode);
      checked++;
      try {
        const got = await post(`${target.base}/v1/chat/completions`, requestBody(mode));
        if (got.status !== expected.status)
          problems.push(`${mode}: HTTP ${got.status}, expected ${expected.status}`);
        else if (!got.body.equals(expected.body)) {
          problems.push(`${mode}: body differs (${got.body.length} bytes, expected ${expected.body.length})`);
        }
      } catch (error) {
        problems.push(`${mode}: ${(error as Error).message}`);
      }
    }
  }
  return { target: target.name, checked, problems: [...new Set(problems)] };
};
