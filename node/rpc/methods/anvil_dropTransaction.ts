import { dropTransaction } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_dropTransaction: see node/rpc/devMethods.ts. */
export const anvil_dropTransaction: MethodEntry<Services> = { ...dropTransaction('anvil') };
