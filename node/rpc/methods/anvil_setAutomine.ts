import { setAutomine } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_setAutomine: see node/rpc/devMethods.ts. */
export const anvil_setAutomine: MethodEntry<Services> = { ...setAutomine('anvil') };
