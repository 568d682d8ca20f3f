// Cache: the last stage of the pipeline. Two ways to answer without the model:
//   - type-through: the user keeps typing what was suggested; the new prefix is an old prefix plus
//     text that the old suggestion starts with, and the suffix is unchanged -> the rest of it;
//   - an LRU keyed on the context (model generation, mode, prefix, suffix) for repeated requests
//     (VS Code asks again when the cursor comes back, or after an edit is undone).
// Knows nothing of models or tokens.
import { createHash } from 'node:crypto';

export interface CachedCompletion {
  text: string;
  tokens: number;
  steps: number;
  /** The completion's mean confidence (kept for a type-through rest: it is the same suggestion). */
  confidence: number;
}

interface Recent {
  generation: number;
  mode: string;
  prefix: string;
  suffix: string;
  value: CachedCompletion;
}

export class CompletionCache {
  private readonly lru = new Map<string, CachedCompletion>();
  private readonly recent: Recent[] = [];

  constructor(private readonly capacity = 128, private readonly recentCapacity = 8) {}

  static key(generation: number, mode: string, prefix: string, suffix: string): string {
    return createHash('sha1').update(`${generation}\0${mode}\0${prefix.length}\0`).update(prefix).update('\0').update(suffix).digest('base64');
  }

  /** The cached completion for this exact context, or the rest of one the user is typing through. */
  get(generation: number, mode: string, prefix: string, suffix: string): CachedCompletion | undefined {
    const key = CompletionCache.key(generation, mode, prefix, suffix);
    const hit = this.lru.get(key);
    if (hit) {
      this.lru.delete(key); // most recently used goes last
      this.lru.set(key, hit);
      return hit;
    }
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const r = this.recent[i];
      if (r.generation !== generation || r.suffix !== suffix || !prefix.startsWith(r.prefix)) continue;
      const typed = prefix.slice(r.prefix.length);
      if (typed.length > 0 && typed.length < r.value.text.length && r.value.text.startsWith(typed)) {
        return { ...r.value, text: r.value.text.slice(typed.length) };
      }
    }
    return undefined;
  }

  set(generation: number, mode: string, prefix: string, suffix: string, value: CachedCompletion): void {
    const key = CompletionCache.key(generation, mode, prefix, suffix);
    this.lru.delete(key);
    this.lru.set(key, value);
    while (this.lru.size > this.capacity) this.lru.delete(this.lru.keys().next().value as string);
    if (value.text) {
      this.recent.push({ generation, mode, prefix, suffix, value });
      if (this.recent.length > this.recentCapacity) this.recent.shift();
    }
  }

  clear(): void {
    this.lru.clear();
    this.recent.length = 0;
  }

  get size(): number {
    return this.lru.size;
  }
}
