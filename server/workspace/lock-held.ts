/**
 * Which dws lock files the current async call chain holds (lock.ts takes and releases them). A
 * module of its own so the git runner can ask without importing the lock's workspace lookup.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const held = new AsyncLocalStorage<Set<string>>();

/** True inside a dws lock: no other dws command is changing this workspace now. */
export function holdingAnyLock(): boolean {
  return (held.getStore()?.size ?? 0) > 0;
}
