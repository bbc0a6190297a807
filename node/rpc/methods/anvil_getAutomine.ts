import { getAutomine } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_getAutomine: see node/rpc/devMethods.ts. */
export const anvil_getAutomine: MethodEntry<Services> = { ...getAutomine() };
