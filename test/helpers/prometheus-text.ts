/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format), written from the format's
 * rules so a test can check what a scraper would accept: `# HELP` / `# TYPE` lines (at most one each per
 * family, TYPE before its samples), other `#` lines are comments, samples `name{label="value",…} value
 * [timestamp]` with the metric/label name grammar and the `\\`, `\"`, `\n` escapes, float values including
 * `NaN`, `+Inf`, `-Inf`; a family's samples are contiguous; no duplicate series; histograms have `_bucket`
 * series with `le` whose counts never decrease, ending at `le="+Inf"` equal to `_count`, and a `_sum`.
 * Throws on the first violation, naming the line.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
  readonly timestamp?: number;
}

export interface Family {
  readonly name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

const parseValue = (text: string, line: number): number => {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${line}: bad value ${text}`);
  return Number(text);
};

const unescapeHelp = (text: string): string =>
  text.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));

/** The family a sample name belongs to, given the declared types (histogram suffixes fold into the base). */
const familyOf = (name: string, types: ReadonlyMap<string, string>): string => {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const type = types.get(base);
      if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
    }
  }
  return name;
};

const seriesKey = (name: string, labels: Labels): string =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`)
    .join(',')}}`;

export const parsePrometheusText = (text: string): Map<string, Family> => {
  const families = new Map<string, Family>();
  const types = new Map<string, string>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const family = (name: string): Family => {
    let found = families.get(name);
    if (found === undefined) {
      found = { name, type: 'untyped', samples: [] };
      families.set(name, found);
    }
    return found;
  };
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a line feed');
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
      if (match === null) return; // a comment
      const [, keyword, name = '', rest = ''] = match;
      if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)?.[0] !== name) {
        throw new Error(`line ${line}: bad metric name ${name}`);
      }
      const f = family(name);
      if (keyword === 'TYPE') {
        if (types.has(name)) throw new Error(`line ${line}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`line ${line}: TYPE after samples of ${name}`);
        if (!TYPES.has(rest.trim())) throw new Error(`line ${line}: unknown type ${rest}`);
        types.set(name, rest.trim());
        f.type = rest.trim() as Family['type'];
      } else {
        if (f.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        f.help = unescapeHelp(rest);
      }
      return;
    }
    let rest = raw;
    const name = METRIC_NAME.exec(rest)?.[0];
    if (name === undefined) throw new Error(`line ${line}: no metric name`);
    rest = rest.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      while (!rest.startsWith('}')) {
        const label = LABEL_NAME.exec(rest)?.[0];
        if (label === undefined) throw new Error(`line ${line}: bad label name at ${rest.slice(0, 20)}`);
        rest = rest.slice(label.length);
        if (!rest.startsWith('="')) throw new Error(`line ${line}: expected =" after ${label}`);
        rest = rest.slice(2);
        let value = '';
        for (;;) {
          const c = rest[0];
          if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
          rest = rest.slice(1);
          if (c === '"') break;
          if (c === '\\') {
            const e = rest[0];
            rest = rest.slice(1);
            if (e === '\\') value += '\\';
            else if (e === '"') value += '"';
            else if (e === 'n') value += '\n';
            else throw new Error(`line ${line}: bad escape \\${e}`);
          } else value += c;
        }
        if (Object.hasOwn(labels, label)) throw new Error(`line ${line}: duplicate label ${label}`);
        labels[label] = value;
        if (rest.startsWith(',')) rest = rest.slice(1);
        else if (!rest.startsWith('}'))
          throw new Error(`line ${line}: expected , or } at ${rest.slice(0, 20)}`);
      }
      rest = rest.slice(1);
    }
    const parts = rest.trim().split(/[ \t]+/);
    if (!/^[ \t]/.test(rest) || parts.length < 1 || parts.length > 2) {
      throw new Error(`line ${line}: expected " value [timestamp]"`);
    }
    const value = parseValue(parts[0] as string, line);
    const timestamp = parts[1] === undefined ? undefined : Number(parts[1]);
    if (timestamp !== undefined && !Number.isInteger(timestamp))
      throw new Error(`line ${line}: bad timestamp`);
    const base = familyOf(name, types);
    if (base !== current) {
      if (closed.has(base)) throw new Error(`line ${line}: samples of ${base} are not contiguous`);
      if (current !== undefined) closed.add(current);
      current = base;
    }
    const key = seriesKey(name, labels);
    if (seen.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    seen.add(key);
    family(base).samples.push({ name, labels, value, ...(timestamp === undefined ? {} : { timestamp }) });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
};

const withoutLe = (labels: Labels): string => {
  const { le: _le, ...rest } = labels;
  return seriesKey('', rest);
};

const checkHistogram = (f: Family): void => {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const sample of f.samples) {
    const key = withoutLe(sample.labels);
    let group = groups.get(key);
    if (group === undefined) {
      group = { buckets: [] };
      groups.set(key, group);
    }
    if (sample.name === `${f.name}_bucket`) {
      const le = sample.labels.le;
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      group.buckets.push([parseValue(le, 0), sample.value]);
    } else if (sample.name === `${f.name}_sum`) group.sum = sample.value;
    else if (sample.name === `${f.name}_count`) group.count = sample.value;
    else throw new Error(`${f.name}: unexpected sample ${sample.name} in a histogram`);
  }
  for (const [key, group] of groups) {
    const { buckets } = group;
    if (buckets.length === 0 || group.sum === undefined || group.count === undefined) {
      throw new Error(`${f.name}${key}: a histogram needs buckets, _sum and _count`);
    }
    for (let i = 1; i < buckets.length; i++) {
      const [le, count] = buckets[i] as [number, number];
      const [prevLe, prevCount] = buckets[i - 1] as [number, number];
      if (!(le > prevLe)) throw new Error(`${f.name}${key}: le not increasing`);
      if (count < prevCount) throw new Error(`${f.name}${key}: bucket counts decrease`);
    }
    const last = buckets.at(-1) as [number, number];
    if (last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}${key}: no le="+Inf" bucket`);
    if (last[1] !== group.count) throw new Error(`${f.name}${key}: +Inf bucket ≠ _count`);
  }
};
