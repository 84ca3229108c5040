/**
 * Bedrock guardrails: Converse `trace.guardrail` (`inputAssessment: {id: assessment}`,
 * `outputAssessments: {id: [assessment]}`), the same in ConverseStream's `metadata` event, and InvokeModel's
 * `amazon-bedrock-guardrailAction` with `amazon-bedrock-trace.guardrail` (`input: {id: assessment}`,
 * `outputs: [{id: assessment}]`). The trace also quotes the unmasked model output (`modelOutput`) and every
 * finding's `match`: none of that is read (see `SafetyState.assessment`).
 */
import { arr, type Json, obj } from './common.ts';
import { nameOf } from './safety.ts';
import type { ResponseState } from './state.ts';

/** Guardrail ids per trace: a request names one guardrail; a few keys are read, never more. */
const MAX_IDS = 8;

const eachAssessment = (
  state: ResponseState,
  byId: unknown,
  read: (id: string | undefined, value: unknown) => void,
): void => {
  const map = obj(byId);
  if (map === undefined) return;
  let seen = 0;
  for (const id in map) {
    if (!Object.hasOwn(map, id)) continue;
    if (seen++ >= MAX_IDS) break;
    state.safety().guardrailId(nameOf(id));
    read(id, map[id]);
  }
};

/** Converse / ConverseStream `trace` member. */
export const readConverseTrace = (state: ResponseState, trace: unknown): void => {
  const guardrail = obj(obj(trace)?.guardrail);
  if (guardrail === undefined) return;
  state.safety().guardrail(false);
  eachAssessment(state, guardrail.inputAssessment, (_id, value) => state.safety().assessment('input', value));
  eachAssessment(state, guardrail.outputAssessments, (_id, value) => {
    for (const assessment of arr(value) ?? []) state.safety().assessment('output', assessment);
  });
};

/** InvokeModel (and the stream's chunks): the guardrail action and trace members Bedrock adds to the body. */
export const readInvokeGuardrail = (state: ResponseState, body: Json): void => {
  const action = body['amazon-bedrock-guardrailAction'];
  if (typeof action === 'string') state.safety().guardrail(action !== 'NONE');
  const guardrail = obj(obj(body['amazon-bedrock-trace'])?.guardrail);
  if (guardrail === undefined) return;
  state.safety().guardrail(false);
  eachAssessment(state, guardrail.input, (_id, value) => state.safety().assessment('input', value));
  let outputs = 0;
  for (const item of arr(guardrail.outputs) ?? []) {
    if (outputs++ >= MAX_IDS) break;
    eachAssessment(state, item, (_id, value) => state.safety().assessment('output', value));
  }
};

/** Finish reasons that tell a guardrail or filter acted (Converse `stopReason`, Titan, Claude). */
export const readBedrockStops = (state: ResponseState): void => {
  if (state.finish.size === 0) return;
  for (const reason of state.finish.list()) {
    if (reason === 'guardrail_intervened') state.safety().guardrail(true);
    else if (reason === 'content_filtered' || reason === 'CONTENT_FILTERED') {
      state.safety().block('content_filter', 'output');
    } else if (reason === 'refusal') state.safety().block('refusal', 'output');
  }
};
