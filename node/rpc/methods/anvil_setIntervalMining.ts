import { setIntervalMining } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_setIntervalMining: see node/rpc/devMethods.ts. */
export const anvil_setIntervalMining: MethodEntry<Services> = { ...setIntervalMining('anvil') };
