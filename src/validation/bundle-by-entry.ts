/**
 * A Bundle validated entry by entry, for Bundles too big to hold in memory (see cli/bundle-entries.ts): the Bundle
 * without its entries (the shell) is walked once, each entry is walked as the whole walk would reach it, and the
 * Bundle's own rules that read its entries are decided from them one at a time. The issues are those of the whole walk.
 */
import { makeFrame, makeHost, Walk, type Engine, type ResourceFrame } from './instance-validator.js';
import { checkEntry, checkSearchEntry, searchModeMissing, searchSetOf, type SearchSet } from './bundle.js';
import { OnDiskIndex, type FullUrlTable } from './bundle-on-disk.js';
import type { CompiledStructure, ElementNode } from './element-tree.js';
import type { Issue } from './issues.js';

/** Types whose rules relate entries to each other (a document's Composition, a message's header): walked whole. */
const WHOLE_BUNDLE_TYPES = new Set(['document', 'message']);

export interface BundleByEntry {
  /** The issues of entry `index` (its value as read from the file). */
  entry(value: Record<string, unknown>, index: number): Issue[];
  /** The Bundle's own issues found so far: its shell's, and its rules' failures over the entries seen. */
  bundleIssues(): Issue[];
  /** Takes in the Bundle's own issues that another walk of it found over other entries (a worker's). */
  takeIn(issues: readonly Issue[]): void;
  /** The issues of the Bundle itself, once every entry has been seen. */
  finish(): Issue[];
  /** Lets go of what the walk keeps on disk; called once it is done with, finished or not. */
  close(): void;
}

/**
 * The entry-by-entry walk of a Bundle, or undefined when its rules need every entry at once: a document or a message,
 * or a Bundle with a profile (a profile may slice the entries).
 * @param shell the Bundle without its `entry`
 * @param entries how many entries it has
 * @param fullUrls the entries' fullUrls
 * @param read entry `index` read again from the file (undefined when it cannot be read)
 * @param typeIds the entries' resources' `type/id`, when the first pass noted them
 */
export function bundleByEntry(
  engine: Engine,
  shell: Record<string, unknown>,
  entries: number,
  fullUrls: FullUrlTable,
  read: (index: number) => Record<string, unknown> | undefined,
  profile: string | undefined,
  typeIds?: FullUrlTable,
): BundleByEntry | undefined {
  if (shell.resourceType !== 'Bundle' || WHOLE_BUNDLE_TYPES.has(shell.type as string) || profile !== undefined || entries === 0) return undefined;
  if ((shell.meta as { profile?: unknown } | undefined)?.profile !== undefined || engine.impliedProfiles.for(shell).length > 0) return undefined;
  const structure = engine.structures.forType('Bundle');
  const entryNode = structure?.root.childByName.get('entry');
  if (!structure || !entryNode) return undefined;
  return new EntryWalks(engine, shell, structure, entryNode, fullUrls, read, new OnDiskIndex(shell.type, fullUrls, 'Bundle', read, entries, typeIds));
}

class EntryWalks implements BundleByEntry {
  /** The shell's walk; the Bundle's rules decided over the entries add their failures to it (it drops repeats). */
  private readonly bundleWalk: Walk;
  private readonly frame: ResourceFrame;
  /** The shell with the entries its root rules are judged on, and its frame. */
  private readonly rulesBundle: Record<string, unknown>;
  private readonly rulesFrame: ResourceFrame;
  private readonly entryType: string;
  /** A search set's self link, read from the shell; each entry is judged against it (see checkSearchEntry). */
  private readonly search: SearchSet | undefined;

  constructor(
    private readonly engine: Engine,
    shell: Record<string, unknown>,
    private readonly structure: CompiledStructure,
    private readonly entryNode: ElementNode,
    private readonly fullUrls: FullUrlTable,
    private readonly read: (index: number) => Record<string, unknown> | undefined,
    private readonly index: OnDiskIndex,
  ) {
    this.entryType = entryNode.types[0]?.code ?? 'BackboneElement';
    this.search = shell.type === 'searchset' ? searchSetOf(shell, (name) => engine.isResourceType(name)) : undefined;
    this.frame = makeFrame(shell, 'Bundle', undefined, index);
    this.rulesBundle = Object.assign({}, shell);
    this.rulesFrame = makeFrame(this.rulesBundle, 'Bundle', undefined, index);
    this.bundleWalk = new Walk(engine);
    this.guarded(() => this.bundleWalk.resource(shell, 'Bundle', this.frame, [], true));
  }

  entry(value: Record<string, unknown>, index: number): Issue[] {
    this.engine.startValidation();
    const entry = this.index.walking(index, value)!;
    const walk = new Walk(this.engine);
    // As children() walks an entry of a Bundle's `entry` array (plainElement), then checkBundle.
    const host = makeHost('Bundle.entry', 'Bundle.entry', this.entryType, undefined, undefined);
    this.guarded(() => walk.complexElement(value, this.entryNode, this.entryType, entry.path, this.frame, this.structure, host));
    checkEntry(entry, this.index.type, walk);
    if (this.search) {
      const missingBefore = this.search.modeMissing;
      checkSearchEntry(value, entry, this.search, walk);
      // A Bundle issue, so that the walks of other workers' entries are taken in with it (takeIn), once.
      if (this.search.modeMissing && !missingBefore) searchModeMissing('Bundle', this.bundleWalk);
    }
    // The core Bundle's own rules that read entries hold of all entries when they hold of each (bdl-2, bdl-3, bdl-4),
    // or are about pairs of them (bdl-7, in finish()): each entry is judged in a Bundle of its own.
    this.rootRules([value]);
    this.index.walking(index, undefined);
    return walk.result();
  }

  bundleIssues(): Issue[] {
    return this.bundleWalk.result();
  }

  takeIn(issues: readonly Issue[]): void {
    for (const issue of issues) this.bundleWalk.add(issue.severity, issue.code, issue.messageId, issue.message, issue.path);
  }

  finish(): Issue[] {
    // bdl-7: fullUrl and versionId together are unique (outside history Bundles). Only entries whose fullUrls hash
    // alike can share them: those are read back, one hash's at a time, and judged together where they do.
    let run = -1;
    let groups = new Map<string, Record<string, unknown>[]>();
    for (const shared of this.fullUrls.sharedHashEntries()) {
      if (shared.run !== run) {
        this.judgePairs(groups);
        groups = new Map();
        run = shared.run;
      }
      const value = this.read(shared.index);
      if (!value || typeof value.fullUrl !== 'string') continue;
      const versionId = (value.resource as { meta?: { versionId?: unknown } } | undefined)?.meta?.versionId;
      const key = `${value.fullUrl}\u0000${typeof versionId === 'string' ? versionId : ''}`;
      const group = groups.get(key);
      if (!group) groups.set(key, [value]);
      // Two entries break the rule as all of them do (and each entry's own rules were judged with it): a Bundle that
      // repeats one fullUrl throughout holds two entries here, not all of them.
      else if (group.length < 2) group.push(value);
    }
    this.judgePairs(groups);
    return this.bundleWalk.result();
  }

  /** The Bundle's root rules on each group of entries that share a fullUrl and versionId. */
  private judgePairs(groups: Map<string, Record<string, unknown>[]>): void {
    for (const group of groups.values()) if (group.length > 1) this.rootRules(group);
  }

  close(): void {
    this.index.close();
  }

  /** The Bundle's root rules, on the shell holding these entries (one object, its entries replaced each time). */
  private rootRules(entries: unknown[]): void {
    this.rulesBundle.entry = entries;
    const root = this.structure.root;
    this.guarded(() => this.bundleWalk.checkConstraints(this.rulesBundle, root, 'Bundle', this.rulesFrame, root.path));
  }

  private guarded(walk: () => void): void {
    const mark = this.engine.groups.count;
    try {
      walk();
    } finally {
      this.engine.groups.count = mark;
    }
  }
}
