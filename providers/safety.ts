/**
 * Safety signals in provider bodies: Azure OpenAI content-filter results, Bedrock guardrail assessments,
 * refusals and safety blocks. Reads verdicts and category names only — never matched text, masked content,
 * regex patterns or the model output a guardrail trace quotes (those are the user's data).
 *
 * Everything here is bounded whatever the body holds: at most `MAX_CATEGORIES` filter categories per
 * result, `MAX_PROMPTS` prompt results, `MAX_FINDINGS` distinct guardrail findings, `MAX_ENTRIES` list
 * entries read per call, names cut at `MAX_NAME_CHARS`; a cap that cut something sets `truncated`.
 * Malformed members are skipped, never thrown on.
 *
 * Size: the three providers' safety shapes share these caps and the merge of verdicts across chunks; split per
 * provider, each would repeat the bounded readers.
 */
import type {
  FilterCategories,
  FilterVerdict,
  GuardrailFinding,
  GuardrailPolicy,
  PromptFilterResult,
  SafetyFacts,
  SafetyReason,
  SafetyStage,
} from '../src/record.ts';
import { arr, type Json, obj } from './common.ts';

export const MAX_NAME_CHARS = 64;
export const MAX_CATEGORIES = 32;
export const MAX_PROMPTS = 16;
export const MAX_FINDINGS = 64;
export const MAX_ENTRIES = 1024;
export const MAX_BLOCK_CATEGORIES = 16;

/** A category/type name: a non-empty string (or finite number, as text), cut at `MAX_NAME_CHARS`. */
export const nameOf = (value: unknown): string | undefined => {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return value.length > MAX_NAME_CHARS ? value.slice(0, MAX_NAME_CHARS) : value;
};

const SEVERITY_RANK: Readonly<Record<string, number>> = { safe: 0, low: 1, medium: 2, high: 3 };

/** The worse of two severities; an unknown one is kept only when nothing known was seen. */
const worseSeverity = (a: string | undefined, b: string | undefined): string | undefined => {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const ra = SEVERITY_RANK[a];
  const rb = SEVERITY_RANK[b];
  if (rb === undefined) return a;
  if (ra === undefined) return b;
  return rb > ra ? b : a;
};

/** One category's verdict: `filtered`, `severity`, `detected` only; undefined when it has none. */
const verdictOf = (value: unknown): FilterVerdict | undefined => {
  const raw = obj(value);
  if (raw === undefined) return undefined;
  const verdict: { filtered?: boolean; severity?: string; detected?: boolean } = {};
  if (typeof raw.filtered === 'boolean') verdict.filtered = raw.filtered;
  const severity = nameOf(raw.severity);
  if (severity !== undefined && typeof raw.severity === 'string') verdict.severity = severity;
  if (typeof raw.detected === 'boolean') verdict.detected = raw.detected;
  return verdict.filtered === undefined && verdict.severity === undefined && verdict.detected === undefined
    ? undefined
    : verdict;
};

const mergeVerdict = (a: FilterVerdict | undefined, b: FilterVerdict): FilterVerdict => {
  if (a === undefined) return b;
  const out: { filtered?: boolean; severity?: string; detected?: boolean } = {};
  const filtered = a.filtered === true || b.filtered === true ? true : (a.filtered ?? b.filtered);
  if (filtered !== undefined) out.filtered = filtered;
  const severity = worseSeverity(a.severity, b.severity);
  if (severity !== undefined) out.severity = severity;
  const detected = a.detected === true || b.detected === true ? true : (a.detected ?? b.detected);
  if (detected !== undefined) out.detected = detected;
  return out;
};

/** Filter categories being merged (worst verdict per category), bounded by `MAX_CATEGORIES`. */
class CategoryMerge {
  readonly #byName = new Map<string, FilterVerdict>();
  truncated = false;

  get size(): number {
    return this.#byName.size;
  }

  add(results: unknown): void {
    const raw = obj(results);
    if (raw === undefined) return;
    for (const key in raw) {
      if (!Object.hasOwn(raw, key)) continue;
      const verdict = verdictOf(raw[key]);
      if (verdict === undefined) continue;
      const name = nameOf(key);
      if (name === undefined) continue;
      const known = this.#byName.get(name);
      if (known === undefined && this.#byName.size >= MAX_CATEGORIES) {
        this.truncated = true;
        continue;
      }
      this.#byName.set(name, mergeVerdict(known, verdict));
    }
  }

  /** Category names whose verdict filtered (or detected, when `detected` is asked for). */
  acted(): string[] {
    const out: string[] = [];
    for (const [name, verdict] of this.#byName) if (verdict.filtered === true) out.push(name);
    return out;
  }

  result(): FilterCategories | undefined {
    if (this.#byName.size === 0) return undefined;
    const out: Record<string, FilterVerdict> = {};
    for (const [name, verdict] of this.#byName) out[name] = verdict;
    return out;
  }
}

interface FindingDraft {
  readonly policy: GuardrailPolicy;
  readonly stage: SafetyStage;
  readonly category: string;
  readonly kind?: 'pii' | 'regex';
  readonly action?: string;
  readonly confidence?: string;
  readonly filterStrength?: string;
  readonly score?: number;
  readonly threshold?: number;
}

const findingKey = (f: FindingDraft): string =>
  `${f.policy}\u0001${f.stage}\u0001${f.kind ?? ''}\u0001${f.category}\u0001${f.action ?? ''}\u0001${
    f.confidence ?? ''
  }\u0001${f.filterStrength ?? ''}\u0001${f.score ?? ''}\u0001${f.threshold ?? ''}`;

/** Which `invocationMetrics.usage` units tell that a policy ran. */
const POLICY_UNITS: readonly (readonly [GuardrailPolicy, readonly string[]])[] = [
  ['content', ['contentPolicyUnits', 'contentPolicyImageUnits']],
  ['sensitive_info', ['sensitiveInformationPolicyUnits', 'sensitiveInformationPolicyFreeUnits']],
  ['topics', ['topicPolicyUnits']],
  ['words', ['wordPolicyUnits']],
  ['contextual_grounding', ['contextualGroundingPolicyUnits']],
];

const finiteNumber = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/**
 * The mutable per-call safety state a parser fills; `facts()` turns it into the record's `SafetyFacts`
 * (undefined when the response carried no safety signal at all).
 */
export class SafetyState {
  #block: { reason: SafetyReason; stage: SafetyStage } | undefined;
  readonly #blockCategories = new Set<string>();
  readonly #prompts = new Map<number | undefined, CategoryMerge>();
  readonly #completion = new CategoryMerge();
  #truncated = false;
  #guardrailSeen = false;
  #activated = false;
  readonly #guardrailIds = new Set<string>();
  #guardrailVersion: string | undefined;
  readonly #findings = new Map<string, GuardrailFinding>();
  readonly #evaluated = new Map<string, { policy: GuardrailPolicy; stage: SafetyStage }>();
  /** List entries read so far (all policies), so a huge trace costs at most `MAX_ENTRIES` iterations. */
  #entries = 0;

  /** The provider blocked, filtered or refused. An input block wins; otherwise the first one stays. */
  block(reason: SafetyReason, stage: SafetyStage, categories?: readonly (string | undefined)[]): void {
    if (this.#block === undefined || (stage === 'input' && this.#block.stage === 'output')) {
      this.#block = { reason, stage };
    }
    for (const category of categories ?? []) this.blockCategory(category);
  }

  get blocked(): boolean {
    return this.#block !== undefined;
  }

  blockCategory(category: string | undefined): void {
    if (category === undefined) return;
    if (this.#blockCategories.size >= MAX_BLOCK_CATEGORIES) {
      if (!this.#blockCategories.has(category)) this.#truncated = true;
      return;
    }
    this.#blockCategories.add(category);
  }

  /** Azure `prompt_filter_results` (or the older `prompt_annotations`): `[{prompt_index, content_filter_results}]`. */
  promptFilters(list: unknown): void {
    const entries = arr(list);
    if (entries === undefined) return;
    for (const item of entries) {
      const entry = obj(item);
      if (entry === undefined) continue;
      const index =
        typeof entry.prompt_index === 'number' && Number.isInteger(entry.prompt_index)
          ? entry.prompt_index
          : undefined;
      this.promptCategories(index, entry.content_filter_results ?? entry.content_filter_result);
    }
  }

  /** One prompt's categories (also the `innererror.content_filter_result` of a 400 `content_filter`). */
  promptCategories(index: number | undefined, results: unknown): void {
    if (obj(results) === undefined) return;
    let merge = this.#prompts.get(index);
    if (merge === undefined) {
      if (this.#prompts.size >= MAX_PROMPTS) {
        this.#truncated = true;
        return;
      }
      merge = new CategoryMerge();
      this.#prompts.set(index, merge);
    }
    merge.add(results);
  }

  /** One choice's `content_filter_results` (any chunk of a stream). */
  completionFilters(results: unknown): void {
    this.#completion.add(results);
  }

  /** True once some completion category was recorded (streams then parse only chunks that can change it). */
  get hasCompletionFilters(): boolean {
    return this.#completion.size > 0;
  }

  /** Bedrock: a guardrail took part (request config, trace or action); `activated` when it intervened. */
  guardrail(activated: boolean, id?: string, version?: string): void {
    this.#guardrailSeen = true;
    if (activated) this.#activated = true;
    this.guardrailId(id);
    if (version !== undefined) this.#guardrailVersion ??= version;
  }

  guardrailId(id: string | undefined): void {
    if (id === undefined || this.#guardrailIds.size >= 8) return;
    this.#guardrailIds.add(id);
  }

  /**
   * One guardrail assessment (`topicPolicy`, `contentPolicy`, `wordPolicy`, `sensitiveInformationPolicy`,
   * `contextualGroundingPolicy`). `match`, `regex` and any quoted text are never read.
   */
  assessment(stage: SafetyStage, value: unknown): void {
    const assessment = obj(value);
    if (assessment === undefined) return;
    this.#guardrailSeen = true;
    const units = obj(obj(assessment.invocationMetrics)?.usage);
    if (units !== undefined) {
      for (const [policy, keys] of POLICY_UNITS) {
        if (keys.some((key) => (finiteNumber(units[key]) ?? 0) > 0)) {
          this.#evaluated.set(`${policy}|${stage}`, { policy, stage });
        }
      }
    }
    const topics = obj(assessment.topicPolicy);
    this.#each(topics?.topics, (entry) =>
      this.#finding({
        policy: 'topics',
        stage,
        category: nameOf(entry.name) ?? nameOf(entry.type) ?? 'unknown',
        ...this.#action(entry),
      }),
    );
    const content = obj(assessment.contentPolicy);
    this.#each(content?.filters, (entry) =>
      this.#finding({
        policy: 'content',
        stage,
        category: nameOf(entry.type) ?? 'unknown',
        ...this.#action(entry),
        ...optional('confidence', nameOf(entry.confidence)),
        ...optional('filterStrength', nameOf(entry.filterStrength)),
      }),
    );
    const words = obj(assessment.wordPolicy);
    this.#each(words?.customWords, (entry) =>
      this.#finding({ policy: 'words', stage, category: 'CUSTOM', ...this.#action(entry) }),
    );
    this.#each(words?.managedWordLists, (entry) =>
      this.#finding({
        policy: 'words',
        stage,
        category: nameOf(entry.type) ?? 'MANAGED',
        ...this.#action(entry),
      }),
    );
    const sensitive = obj(assessment.sensitiveInformationPolicy);
    this.#each(sensitive?.piiEntities, (entry) =>
      this.#finding({
        policy: 'sensitive_info',
        stage,
        kind: 'pii',
        category: nameOf(entry.type) ?? 'unknown',
        ...this.#action(entry),
      }),
    );
    this.#each(sensitive?.regexes, (entry) =>
      this.#finding({
        policy: 'sensitive_info',
        stage,
        kind: 'regex',
        category: nameOf(entry.name) ?? 'unknown',
        ...this.#action(entry),
      }),
    );
    const grounding = obj(assessment.contextualGroundingPolicy);
    this.#each(grounding?.filters, (entry) =>
      this.#finding({
        policy: 'contextual_grounding',
        stage,
        category: nameOf(entry.type) ?? 'unknown',
        ...this.#action(entry),
        ...optional('score', finiteNumber(entry.score)),
        ...optional('threshold', finiteNumber(entry.threshold)),
      }),
    );
  }

  #action(entry: Json): { action?: string } {
    return optional('action', nameOf(entry.action));
  }

  #each(list: unknown, read: (entry: Json) => void): void {
    const entries = arr(list);
    if (entries === undefined) return;
    for (const item of entries) {
      if (this.#entries >= MAX_ENTRIES) {
        this.#truncated = true;
        return;
      }
      this.#entries += 1;
      const entry = obj(item);
      if (entry !== undefined) read(entry);
    }
  }

  #finding(draft: FindingDraft): void {
    if (draft.action !== undefined && draft.action !== 'NONE') this.#activated = true;
    if (draft.action === 'BLOCKED') this.block('guardrail', draft.stage, [draft.category]);
    const key = findingKey(draft);
    const known = this.#findings.get(key);
    if (known !== undefined) {
      this.#findings.set(key, { ...known, count: known.count + 1 });
      return;
    }
    if (this.#findings.size >= MAX_FINDINGS) {
      this.#truncated = true;
      return;
    }
    this.#findings.set(key, { ...draft, count: 1 });
  }

  facts(): SafetyFacts | undefined {
    const out: {
      block?: { reason: SafetyReason; stage: SafetyStage };
      categories?: readonly string[];
      promptFilterResults?: readonly PromptFilterResult[];
      completionFilterResults?: FilterCategories;
      guardrail?: NonNullable<SafetyFacts['guardrail']>;
      truncated?: boolean;
    } = {};
    let truncated = this.#truncated || this.#completion.truncated;
    const prompts: PromptFilterResult[] = [];
    for (const [promptIndex, merge] of this.#prompts) {
      truncated ||= merge.truncated;
      const categories = merge.result();
      if (categories !== undefined) prompts.push({ promptIndex, categories });
    }
    if (prompts.length > 0) out.promptFilterResults = prompts;
    const completion = this.#completion.result();
    if (completion !== undefined) out.completionFilterResults = completion;
    // A filtered Azure category is a block, whether or not the finish reason said so.
    const filteredPrompt = [...this.#prompts.values()].flatMap((merge) => merge.acted());
    if (filteredPrompt.length > 0) this.block('content_filter', 'input', filteredPrompt);
    const filteredOutput = this.#completion.acted();
    if (filteredOutput.length > 0) this.block('content_filter', 'output', filteredOutput);
    if (this.#guardrailSeen) {
      const guardrail: {
        activated: boolean;
        ids: readonly string[];
        version?: string;
        findings: readonly GuardrailFinding[];
        evaluated: readonly { policy: GuardrailPolicy; stage: SafetyStage }[];
      } = {
        activated: this.#activated,
        ids: [...this.#guardrailIds],
        findings: [...this.#findings.values()],
        evaluated: [...this.#evaluated.values()],
      };
      if (this.#guardrailVersion !== undefined) guardrail.version = this.#guardrailVersion;
      out.guardrail = guardrail;
    }
    truncated ||= this.#truncated;
    if (this.#block !== undefined) out.block = this.#block;
    if (this.#blockCategories.size > 0) out.categories = [...this.#blockCategories];
    if (truncated) out.truncated = true;
    return Object.keys(out).length === 0 ? undefined : out;
  }
}

/**
 * Output blocks told by a finish reason (`refusal`, `content_filter`, `SAFETY`…): `map` names the finish
 * reasons that are blocks and their reason; `category` tells whether the raw value names the category.
 */
export const blockOnFinish = (
  reasons: readonly string[],
  safety: () => SafetyState,
  map: Readonly<Record<string, SafetyReason>>,
  category = false,
): void => {
  for (const raw of reasons) {
    const reason = Object.hasOwn(map, raw) ? map[raw] : undefined;
    if (reason !== undefined) safety().block(reason, 'output', category ? [raw] : undefined);
  }
};

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
