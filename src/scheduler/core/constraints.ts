import { RE2JS } from 're2js';
import type { ValidationDetail } from '../errors.ts';
import type { AgentRecord, AppDefinition, Instance } from '../types.ts';

/**
 * Marathon's placement constraints: `[field, operator, value?]`, where field is `hostname` (or
 * Marathon's alias `@hostname`) or the name of an agent attribute. Pure: everything here is a
 * function of its arguments.
 */
export type Constraint = AppDefinition['constraints'][number];

export const CONSTRAINT_OPERATORS = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'] as const;
export type ConstraintOperator = (typeof CONSTRAINT_OPERATORS)[number];

/** Where an instance runs; the agent registry supplies its hostname and attributes. */
export interface Placed {
  agentId: string;
}

// COMPAT(marathon): the messages of Marathon's SchedulingValidation, word for word where it has one.
const MESSAGES = {
  arity: 'Each constraint must have either 2 or 3 fields',
  field: 'illegal constraint specification',
  operator: `operator must be one of the following ${CONSTRAINT_OPERATORS.slice(0, -1).join(', ')} or IS`,
  unique: 'UNIQUE does not accept a value',
  groupBy: 'GROUP BY must define an integer value or else no value at all',
  maxPer: 'MAX_PER requires an integer value',
  like: 'LIKE and UNLIKE require a non-empty, regular expression value',
  is: 'IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)',
  isEmpty: 'IS requires a value',
} as const;

// Java's Integer.parseInt, which Marathon uses to accept GROUP_BY and MAX_PER values.
const INT32 = /^[+-]?\d{1,10}$/;
const isInt32 = (text: string): boolean => INT32.test(text) && Math.abs(Number(text)) <= 2 ** 31 - (text.startsWith('-') ? 0 : 1);
// COMPAT(marathon): IS takes Mesos text and scalar literals only, so sets and ranges can come later.
const MESOS_LITERAL = /^[a-zA-Z0-9_/.-]*$/;

/**
 * Validates posted constraints (already known to be arrays of strings) and returns them in stored
 * form: operator upper-cased, CLUSTER's empty value dropped. Details use the path
 * `/constraints/<index>`, as the 422 body does.
 */
export function checkConstraints(raw: ReadonlyArray<readonly string[]>): { constraints: Constraint[]; details: ValidationDetail[] } {
  const constraints: Constraint[] = [];
  const details: ValidationDetail[] = [];
  raw.forEach((entry, index) => {
    const result = checkConstraint1(entry);
    if (typeof result === 'string') details.push({ path: `/constraints/${index}`, errors: [result] });
    else constraints.push(result);
  });
  return { constraints, details };
}

function checkConstraint1(entry: readonly string[]): Constraint | string {
  if (entry.length < 2 || entry.length > 3) return MESSAGES.arity;
  const [field = '', rawOperator = '', value] = entry;
  if (field === '') return MESSAGES.field;
  // COMPAT(marathon): operators are matched case-insensitively and stored upper-case.
  const operator = rawOperator.toUpperCase();
  if (!isOperator(operator)) return MESSAGES.operator;
  switch (operator) {
    case 'UNIQUE':
      return value === undefined ? [field, operator] : MESSAGES.unique;
    case 'CLUSTER':
      // COMPAT(marathon): the value is optional; without one the first placement picks it.
      return value === undefined || value === '' ? [field, operator] : [field, operator, value];
    case 'GROUP_BY':
      if (value === undefined) return [field, operator];
      return isInt32(value) ? [field, operator, value] : MESSAGES.groupBy;
    case 'MAX_PER':
      return value !== undefined && isInt32(value) ? [field, operator, value] : MESSAGES.maxPer;
    case 'LIKE':
    case 'UNLIKE': {
      if (value === undefined || value === '') return MESSAGES.like;
      const compiled = compile(value);
      return compiled instanceof Pattern ? [field, operator, value] : `'${value}' is not a valid regular expression: ${compiled}`;
    }
    case 'IS':
      // Beyond Marathon, which accepts IS without a value: such a constraint could never be met.
      if (value === undefined || value === '') return MESSAGES.isEmpty;
      return MESOS_LITERAL.test(value) ? [field, operator, value] : MESSAGES.is;
  }
}

const isOperator = (text: string): text is ConstraintOperator => (CONSTRAINT_OPERATORS as readonly string[]).includes(text);

/** `UNIQUE hostname`, `MAX_PER rack:2`: how a constraint is named in refusal reasons. */
export function describeConstraint(constraint: Constraint): string {
  const [field, operator, value] = constraint;
  return value === undefined ? `${operator} ${field}` : `${operator} ${field}:${value}`;
}

/**
 * The value of a constraint field on an agent as Mesos would compare it: the hostname, an
 * attribute's text, or a scalar attribute's number as text (1 → "1"); undefined when absent.
 */
export function fieldValue(agent: AgentRecord | undefined, field: string): string | undefined {
  if (agent === undefined) return undefined;
  if (field === 'hostname' || field === '@hostname') return agent.hostname;
  if (!Object.hasOwn(agent.attributes, field)) return undefined;
  const value = agent.attributes[field];
  return value === undefined ? undefined : String(value);
}

/**
 * A LIKE/UNLIKE pattern, matched against the whole value as Java's String.matches does in
 * Marathon, by RE2 (re2js): time linear in the value whatever the pattern, so a pattern like
 * `(.?){10}(.?){10}x` cannot stall placement. What only a backtracking engine can do
 * (backreferences, lookaround) does not compile, and the app is refused.
 */
class Pattern {
  readonly #regex: RE2JS;
  /** Placement asks about the same few agent values again and again: answers are kept. */
  readonly #answers = new Map<string, boolean>();

  constructor(regex: RE2JS) {
    this.#regex = regex;
  }

  matches(value: string): boolean {
    let answer = this.#answers.get(value);
    if (answer === undefined) {
      answer = this.#regex.matches(value);
      if (this.#answers.size >= MEMO_LIMIT) this.#answers.clear();
      this.#answers.set(value, answer);
    }
    return answer;
  }
}

// Bounds for the memos: patterns come from app definitions and values from agents, so the
// working sets are small; a hostile input can only make them start over.
const MEMO_LIMIT = 10_000;
const patterns = new Map<string, Pattern | string>();

/** The compiled pattern (one per distinct text), or why RE2 cannot compile it. */
function compile(pattern: string): Pattern | string {
  let compiled = patterns.get(pattern);
  if (compiled !== undefined) return compiled;
  try {
    compiled = new Pattern(RE2JS.compile(pattern));
  } catch (error) {
    compiled = error instanceof Error ? error.message : String(error);
  }
  if (patterns.size >= MEMO_LIMIT) patterns.clear();
  patterns.set(pattern, compiled);
  return compiled;
}

const compiledOrUndefined = (pattern: string): Pattern | undefined => {
  const compiled = compile(pattern);
  return compiled instanceof Pattern ? compiled : undefined;
};

/** Counts of placed instances per field value, kept up to date as instances are placed. */
class Tally {
  readonly counts = new Map<string, number>();
  #least: number | undefined;
  #pinned: string | undefined;
  #dirty = true;

  add(value: string | undefined): void {
    if (value === undefined) return;
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
    this.#dirty = true;
  }

  /** The smallest group's count (GROUP_BY). */
  get least(): number {
    this.#refresh();
    return this.#least ?? 0;
  }

  /** The value most instances share, ties to the one seen first (CLUSTER without a value). */
  get pinned(): string | undefined {
    this.#refresh();
    return this.#pinned;
  }

  #refresh(): void {
    if (!this.#dirty) return;
    let least: number | undefined;
    let most = 0;
    let pinned: string | undefined;
    for (const [value, count] of this.counts) {
      if (least === undefined || count < least) least = count;
      if (count > most) [most, pinned] = [count, value];
    }
    [this.#least, this.#pinned, this.#dirty] = [least, pinned, false];
  }
}

/**
 * Checks a set of constraints for one app against candidate agents, placement after placement.
 * Built once per launch request from the app's current instances; `record` keeps it current,
 * so each check costs a few map look-ups rather than a scan of the app's instances.
 */
export class ConstraintTracker {
  readonly #constraints: ReadonlyArray<{ constraint: Constraint; reason: string; tally: Tally; regex?: Pattern | undefined }>;

  constructor(constraints: readonly Constraint[], placed: Iterable<Placed>, agents: ReadonlyMap<string, AgentRecord>) {
    this.#constraints = constraints.map((constraint) => {
      const [, operator, value] = constraint;
      const regex = (operator === 'LIKE' || operator === 'UNLIKE') && value !== undefined ? compiledOrUndefined(value) : undefined;
      return { constraint, reason: describeConstraint(constraint), tally: new Tally(), regex };
    });
    for (const p of placed) this.#record(agents.get(p.agentId));
  }

  /** True when the candidate meets every constraint, else the first one it breaks. */
  check(candidate: AgentRecord): true | string {
    for (const c of this.#constraints) {
      if (!meets(c.constraint, fieldValue(candidate, c.constraint[0]), c.tally, c.regex)) return c.reason;
    }
    return true;
  }

  /** Records an instance placed on `agent`. */
  record(agent: AgentRecord): void {
    this.#record(agent);
  }

  /** How many instances share the candidate's GROUP_BY values: lower spreads better. */
  groupLoad(candidate: AgentRecord): number {
    let load = 0;
    for (const c of this.#constraints) {
      if (c.constraint[1] !== 'GROUP_BY') continue;
      const value = fieldValue(candidate, c.constraint[0]);
      load += value === undefined ? 0 : c.tally.counts.get(value) ?? 0;
    }
    return load;
  }

  #record(agent: AgentRecord | undefined): void {
    for (const c of this.#constraints) c.tally.add(fieldValue(agent, c.constraint[0]));
  }
}

// COMPAT(marathon): the semantics of Marathon's Constraints.meetsConstraint (1.5+).
function meets(constraint: Constraint, value: string | undefined, tally: Tally, regex: Pattern | undefined): boolean {
  const [, operator, expected] = constraint;
  // An agent without the field meets only UNLIKE.
  if (value === undefined) return operator === 'UNLIKE';
  switch (operator) {
    case 'UNIQUE':
      return !tally.counts.has(value);
    case 'CLUSTER': {
      const target = expected ?? tally.pinned;
      return target === undefined || value === target;
    }
    case 'GROUP_BY': {
      // A value not used yet is always welcome; a used one only while it is among the smallest
      // groups and there are at least `minimum` groups.
      const count = tally.counts.get(value);
      if (count === undefined) return true;
      return tally.counts.size >= Number(expected ?? 0) && count === tally.least;
    }
    case 'MAX_PER':
      return (tally.counts.get(value) ?? 0) < Number(expected);
    case 'LIKE':
      return regex?.matches(value) ?? false;
    case 'UNLIKE':
      return regex === undefined ? false : !regex.matches(value);
    case 'IS':
      return value === expected;
    default:
      return false;
  }
}

/**
 * Whether `candidate` can take one more instance of an app under `constraint`, given where the
 * app's instances already are (`placed`: current instances plus earlier placements of this
 * round; for CLUSTER without a value, ties go to the value seen first). True, or the constraint
 * named as a reason (`UNIQUE hostname`).
 */
export function checkConstraint(
  constraint: Constraint,
  candidate: AgentRecord,
  placed: readonly Placed[],
  agents: ReadonlyMap<string, AgentRecord>,
): true | string {
  return new ConstraintTracker([constraint], placed, agents).check(candidate);
}

/** Oldest first (stagedAt, then task id): the order in which constraints keep instances. */
export const oldestFirst = (a: Pick<Instance, 'stagedAt' | 'taskId'>, b: Pick<Instance, 'stagedAt' | 'taskId'>): number => a.stagedAt.localeCompare(b.stagedAt) || a.taskId.localeCompare(b.taskId);

/**
 * The instances of an app that break one of its constraints given the others — the ones to kill
 * first when scaling down (as Marathon does). An instance on an agent without the field (or an
 * unknown agent) breaks every operator but UNLIKE. Where only a number of instances is allowed
 * per group (UNIQUE, MAX_PER, CLUSTER without a value, GROUP_BY beyond one more than the smallest
 * group), the oldest are kept and the youngest (by stagedAt, then task id) are the violators.
 */
export function violations(
  app: Pick<AppDefinition, 'constraints'>,
  instances: readonly Instance[],
  agents: ReadonlyMap<string, AgentRecord>,
): Set<string> {
  const found = new Set<string>();
  if (app.constraints.length === 0) return found;
  const ordered = [...instances].sort(oldestFirst);
  for (const constraint of app.constraints) {
    const [field, operator, expected] = constraint;
    const groups = new Map<string, Instance[]>();
    for (const instance of ordered) {
      const value = fieldValue(agents.get(instance.agentId), field);
      if (value === undefined) {
        if (operator !== 'UNLIKE') found.add(instance.taskId);
        continue;
      }
      const group = groups.get(value) ?? [];
      group.push(instance);
      groups.set(value, group);
    }
    const keepPerGroup = (allowed: number): void => {
      for (const group of groups.values()) for (const extra of group.slice(Math.max(0, allowed))) found.add(extra.taskId);
    };
    const keepOnly = (test: (value: string) => boolean): void => {
      for (const [value, group] of groups) if (!test(value)) for (const i of group) found.add(i.taskId);
    };
    switch (operator) {
      case 'UNIQUE':
        keepPerGroup(1);
        break;
      case 'MAX_PER':
        keepPerGroup(Number(expected));
        break;
      case 'GROUP_BY':
        keepPerGroup(Math.min(...[...groups.values()].map((g) => g.length)) + 1);
        break;
      case 'CLUSTER': {
        const tally = new Tally();
        for (const [value, group] of groups) for (let n = 0; n < group.length; n += 1) tally.add(value);
        const target = expected ?? tally.pinned;
        keepOnly((value) => value === target);
        break;
      }
      case 'LIKE':
      case 'UNLIKE': {
        const regex = compiledOrUndefined(expected ?? '');
        keepOnly((value) => regex !== undefined && regex.matches(value) === (operator === 'LIKE'));
        break;
      }
      case 'IS':
        keepOnly((value) => value === expected);
        break;
      default:
        keepOnly(() => false);
    }
  }
  return found;
}
