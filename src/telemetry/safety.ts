/**
 * Safety signals → span attributes and counters: Azure OpenAI content filters, Bedrock guardrails, refusals
 * and safety blocks (the record's `SafetyFacts`, filled by the adapters). Categories, types, actions and
 * verdicts only: the record never holds matched text, and nothing here adds any.
 *
 * Counter attribute values that come from traffic (filter categories, PII types, regex and topic names…)
 * are limited per attribute: the first `MAX_VALUES_PER_ATTRIBUTE` distinct values since start are kept,
 * later ones are reported as `_OTHER` and counted in `llmtap.metric.attribute_overflow`.
 *
 * Size: one mapping per provider safety signal beside the cardinality limit they all share.
 */
import type { Attributes } from '@opentelemetry/api';
import type {
  FilterCategories,
  FilterVerdict,
  GuardrailFinding,
  GuardrailPolicy,
  LlmCall,
  SafetyFacts,
} from '../record.ts';
import { HistogramStream, SumStream } from './aggregation.ts';
import { SAFETY_ATTR, SAFETY_METRIC, SCORE_BUCKETS } from './semconv.ts';

export const MAX_VALUES_PER_ATTRIBUTE = 50;
export const OTHER_VALUE = '_OTHER';

const SEP = '\u0001';

/** Keeps the set of values an attribute may take bounded, counting the values it replaced. */
export class ValueLimiter {
  readonly #seen = new Map<string, Set<string>>();
  readonly #limit: number;
  readonly #onOverflow: (key: string) => void;

  constructor(limit: number, onOverflow: (key: string) => void) {
    this.#limit = limit;
    this.#onOverflow = onOverflow;
  }

  value(key: string, value: string): string {
    let seen = this.#seen.get(key);
    if (seen === undefined) {
      seen = new Set();
      this.#seen.set(key, seen);
    }
    if (seen.has(value)) return value;
    if (seen.size >= this.#limit) {
      this.#onOverflow(key);
      return OTHER_VALUE;
    }
    seen.add(value);
    return value;
  }
}

const filterJson = (categories: FilterCategories): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const name in categories) {
    if (Object.hasOwn(categories, name)) out[name] = categories[name];
  }
  return out;
};

const findingJson = (finding: GuardrailFinding): Record<string, unknown> => {
  const out: Record<string, unknown> = { stage: finding.stage };
  switch (finding.policy) {
    case 'content':
      out.type = finding.category;
      if (finding.confidence !== undefined) out.confidence = finding.confidence;
      if (finding.filterStrength !== undefined) out.filter_strength = finding.filterStrength;
      break;
    case 'sensitive_info':
      out[finding.kind === 'regex' ? 'regex' : 'pii'] = finding.category;
      break;
    case 'topics':
      out.topic = finding.category;
      break;
    case 'words':
      out.list = finding.category;
      break;
    case 'contextual_grounding':
      out.type = finding.category;
      if (finding.score !== undefined) out.score = finding.score;
      if (finding.threshold !== undefined) out.threshold = finding.threshold;
      break;
  }
  if (finding.action !== undefined) out.action = finding.action;
  out.count = finding.count;
  return out;
};

const POLICY_ATTRIBUTE: Readonly<Record<GuardrailPolicy, string>> = {
  content: SAFETY_ATTR.guardrailContent,
  sensitive_info: SAFETY_ATTR.guardrailSensitiveInfo,
  topics: SAFETY_ATTR.guardrailTopics,
  words: SAFETY_ATTR.guardrailWords,
  contextual_grounding: SAFETY_ATTR.guardrailContextual,
};

/** The span attributes of a call's safety facts (none when it has none). */
export const safetySpanAttributes = (safety: SafetyFacts | undefined): Attributes => {
  const attrs: Attributes = {};
  if (safety === undefined) return attrs;
  if (safety.block !== undefined) {
    attrs[SAFETY_ATTR.blocked] = true;
    attrs[SAFETY_ATTR.reason] = safety.block.reason;
    attrs[SAFETY_ATTR.stage] = safety.block.stage;
  }
  if (safety.categories !== undefined && safety.categories.length > 0) {
    attrs[SAFETY_ATTR.categories] = [...safety.categories];
  }
  if (safety.promptFilterResults !== undefined) {
    attrs[SAFETY_ATTR.promptFilterResults] = JSON.stringify(
      safety.promptFilterResults.map((result) =>
        result.promptIndex === undefined
          ? { content_filter_results: filterJson(result.categories) }
          : { prompt_index: result.promptIndex, content_filter_results: filterJson(result.categories) },
      ),
    );
  }
  if (safety.completionFilterResults !== undefined) {
    attrs[SAFETY_ATTR.completionFilterResults] = JSON.stringify(filterJson(safety.completionFilterResults));
  }
  const guardrail = safety.guardrail;
  if (guardrail !== undefined) {
    attrs[SAFETY_ATTR.guardrailActivation] = guardrail.activated;
    const id = guardrail.ids[0];
    if (id !== undefined) {
      attrs[SAFETY_ATTR.guardrailId] = id;
      attrs[SAFETY_ATTR.awsGuardrailId] = id;
    }
    if (guardrail.version !== undefined) attrs[SAFETY_ATTR.guardrailVersion] = guardrail.version;
    const byPolicy = new Map<string, Record<string, unknown>[]>();
    // A policy that ran and found nothing is an empty list, told apart from a policy that did not run.
    for (const { policy } of guardrail.evaluated) byPolicy.set(POLICY_ATTRIBUTE[policy], []);
    for (const finding of guardrail.findings) {
      const key = POLICY_ATTRIBUTE[finding.policy];
      const list = byPolicy.get(key) ?? [];
      list.push(findingJson(finding));
      byPolicy.set(key, list);
    }
    for (const [key, list] of byPolicy) attrs[key] = JSON.stringify(list);
  }
  if (safety.truncated === true) attrs[SAFETY_ATTR.truncated] = true;
  return attrs;
};

/** Orders verdicts for merging prompts: filtered > detected > the rest. */
const rank = (verdict: FilterVerdict): number =>
  verdict.filtered === true ? 2 : verdict.detected === true ? 1 : 0;

export interface SafetyInstruments {
  readonly sums: readonly SumStream[];
  readonly histograms: readonly HistogramStream[];
  /** Records one call's safety counters; `base`/`baseKey` are the call's metric base attributes and key. */
  record(call: LlmCall, base: Attributes, baseKey: string): void;
}

const GUARDRAIL_METRIC: Readonly<Record<Exclude<GuardrailPolicy, 'contextual_grounding'>, string>> = {
  content: SAFETY_METRIC.guardrailContent,
  sensitive_info: SAFETY_METRIC.guardrailSensitiveInfo,
  topics: SAFETY_METRIC.guardrailTopics,
  words: SAFETY_METRIC.guardrailWords,
};

const GUARDRAIL_DESCRIPTION: Readonly<Record<Exclude<GuardrailPolicy, 'contextual_grounding'>, string>> = {
  content: 'Bedrock guardrail content-filter findings, by filter type, confidence, action and stage.',
  sensitive_info:
    'Bedrock guardrail sensitive-information findings, by PII type or regex name, action and stage.',
  topics: 'Bedrock guardrail denied-topic findings, by topic, action and stage.',
  words: 'Bedrock guardrail word-filter findings, by word list (never the word), action and stage.',
};

export const createSafetyInstruments = (): SafetyInstruments => {
  const blocks = new SumStream({
    name: SAFETY_METRIC.blocks,
    unit: '{call}',
    description: 'Calls the provider blocked, filtered or refused, by reason and stage.',
  });
  const filterActions = new SumStream({
    name: SAFETY_METRIC.filterActions,
    unit: '{action}',
    description:
      'Azure OpenAI content-filter verdicts, one per category and stage of a call: filtered, detected or none.',
  });
  const activation = new SumStream({
    name: SAFETY_METRIC.guardrailActivation,
    unit: '{call}',
    description: 'Calls in which a Bedrock guardrail intervened.',
  });
  const findings = {
    content: new SumStream({
      name: GUARDRAIL_METRIC.content,
      unit: '{finding}',
      description: GUARDRAIL_DESCRIPTION.content,
    }),
    sensitive_info: new SumStream({
      name: GUARDRAIL_METRIC.sensitive_info,
      unit: '{finding}',
      description: GUARDRAIL_DESCRIPTION.sensitive_info,
    }),
    topics: new SumStream({
      name: GUARDRAIL_METRIC.topics,
      unit: '{finding}',
      description: GUARDRAIL_DESCRIPTION.topics,
    }),
    words: new SumStream({
      name: GUARDRAIL_METRIC.words,
      unit: '{finding}',
      description: GUARDRAIL_DESCRIPTION.words,
    }),
  };
  const contextual = new HistogramStream(
    {
      name: SAFETY_METRIC.guardrailContextual,
      unit: '1',
      description: 'Bedrock guardrail contextual-grounding scores (0–1), by grounding type and action.',
    },
    SCORE_BUCKETS,
  );
  const overflow = new SumStream({
    name: SAFETY_METRIC.attributeOverflow,
    unit: '{value}',
    description:
      'Metric attribute values from traffic replaced by _OTHER because the attribute hit its value limit.',
  });
  const limiter = new ValueLimiter(MAX_VALUES_PER_ATTRIBUTE, (key) => {
    overflow.point(key, () => ({ [SAFETY_ATTR.overflowAttribute]: key })).add(1);
  });
  /** A bounded attribute value: traffic-chosen strings pass the limiter. */
  const v = (key: string, value: string): string => limiter.value(key, value);

  const recordFinding = (finding: GuardrailFinding, base: Attributes, baseKey: string): void => {
    const stage = finding.stage;
    const action = finding.action === undefined ? undefined : v(SAFETY_ATTR.guardrailAction, finding.action);
    if (finding.policy === 'contextual_grounding') {
      if (finding.score === undefined) return;
      const type = v(SAFETY_ATTR.guardrailGroundingType, finding.category);
      contextual
        .point(`${baseKey}${SEP}${type}${SEP}${action ?? ''}`, () => ({
          ...base,
          [SAFETY_ATTR.guardrailGroundingType]: type,
          ...(action === undefined ? {} : { [SAFETY_ATTR.guardrailAction]: action }),
        }))
        .record(finding.score);
      return;
    }
    let key: string;
    let extra: Attributes;
    switch (finding.policy) {
      case 'content': {
        const type = v(SAFETY_ATTR.guardrailContentType, finding.category);
        const confidence =
          finding.confidence === undefined
            ? undefined
            : v(SAFETY_ATTR.guardrailConfidence, finding.confidence);
        key = `${type}${SEP}${confidence ?? ''}`;
        extra = {
          [SAFETY_ATTR.guardrailContentType]: type,
          ...(confidence === undefined ? {} : { [SAFETY_ATTR.guardrailConfidence]: confidence }),
        };
        break;
      }
      case 'sensitive_info': {
        const attribute = finding.kind === 'regex' ? SAFETY_ATTR.guardrailPattern : SAFETY_ATTR.guardrailPii;
        const name = v(attribute, finding.category);
        key = `${attribute}${SEP}${name}`;
        extra = { [attribute]: name };
        break;
      }
      case 'topics': {
        const topic = v(SAFETY_ATTR.guardrailTopic, finding.category);
        key = topic;
        extra = { [SAFETY_ATTR.guardrailTopic]: topic };
        break;
      }
      default: {
        const list = v(SAFETY_ATTR.guardrailWordList, finding.category);
        key = list;
        extra = { [SAFETY_ATTR.guardrailWordList]: list };
      }
    }
    findings[finding.policy]
      .point(`${baseKey}${SEP}${stage}${SEP}${action ?? ''}${SEP}${key}`, () => ({
        ...base,
        [SAFETY_ATTR.guardrailStage]: stage,
        ...(action === undefined ? {} : { [SAFETY_ATTR.guardrailAction]: action }),
        ...extra,
      }))
      .add(finding.count);
  };

  const recordFilters = (
    stage: 'input' | 'output',
    categories: FilterCategories,
    base: Attributes,
    baseKey: string,
  ): void => {
    for (const name in categories) {
      if (!Object.hasOwn(categories, name)) continue;
      const verdict = categories[name];
      if (verdict === undefined) continue;
      const action = verdict.filtered === true ? 'filtered' : verdict.detected === true ? 'detected' : 'none';
      const category = v(SAFETY_ATTR.filterCategory, name);
      const severity =
        verdict.severity === undefined ? undefined : v(SAFETY_ATTR.filterSeverity, verdict.severity);
      filterActions
        .point(`${baseKey}${SEP}${stage}${SEP}${category}${SEP}${action}${SEP}${severity ?? ''}`, () => ({
          ...base,
          [SAFETY_ATTR.filterStage]: stage,
          [SAFETY_ATTR.filterCategory]: category,
          [SAFETY_ATTR.filterAction]: action,
          ...(severity === undefined ? {} : { [SAFETY_ATTR.filterSeverity]: severity }),
        }))
        .add(1);
    }
  };

  return {
    sums: [blocks, filterActions, activation, ...Object.values(findings), overflow],
    histograms: [contextual],
    record(call, base, baseKey) {
      const safety = call.response.safety;
      if (safety === undefined) return;
      const block = safety.block;
      if (block !== undefined) {
        blocks
          .point(`${baseKey}${SEP}${block.reason}${SEP}${block.stage}`, () => ({
            ...base,
            [SAFETY_ATTR.reason]: block.reason,
            [SAFETY_ATTR.stage]: block.stage,
          }))
          .add(1);
      }
      if (safety.promptFilterResults !== undefined) {
        // Several prompts of one call count a category once (its strongest verdict).
        const merged: Record<string, FilterVerdict> = {};
        for (const result of safety.promptFilterResults) {
          for (const name in result.categories) {
            if (!Object.hasOwn(result.categories, name)) continue;
            const verdict = result.categories[name];
            if (verdict === undefined) continue;
            const known = merged[name];
            if (known === undefined || rank(verdict) > rank(known)) merged[name] = verdict;
          }
        }
        recordFilters('input', merged, base, baseKey);
      }
      if (safety.completionFilterResults !== undefined) {
        recordFilters('output', safety.completionFilterResults, base, baseKey);
      }
      const guardrail = safety.guardrail;
      if (guardrail !== undefined) {
        if (guardrail.activated) activation.point(baseKey, () => base).add(1);
        for (const finding of guardrail.findings) recordFinding(finding, base, baseKey);
        // A policy that ran at a stage without findings reports 0 there: "no findings", not "no data".
        for (const { policy, stage } of guardrail.evaluated) {
          if (policy === 'contextual_grounding') continue;
          if (guardrail.findings.some((f) => f.policy === policy && f.stage === stage)) continue;
          findings[policy]
            .point(`${baseKey}${SEP}${stage}`, () => ({ ...base, [SAFETY_ATTR.guardrailStage]: stage }))
            .add(0);
        }
      }
    },
  };
};
