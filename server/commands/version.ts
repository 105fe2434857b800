/** `dws/version`: which dws this is and which on-disk format it speaks. */
import type { ValidParamsOf, ResultOf, version as Version } from '../../protocol/index.js';
import type { Context } from '../context.js';

/** The Python dws release whose workspace format we read and write. */
export const FORMAT_VERSION = '1.6.0';
/** Version of the integration API (dws 1.6's `get_api_version()`). */
export const API_VERSION = '0.2';

export async function version(_ctx: Context, _params: ValidParamsOf<typeof Version>): Promise<ResultOf<typeof Version>> {
  return { version: __DWS_VERSION__, formatVersion: FORMAT_VERSION, apiVersion: API_VERSION };
}
