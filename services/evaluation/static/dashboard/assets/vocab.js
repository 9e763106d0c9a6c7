// The controlled vocabularies (GET /api/v1/vocabularies): names for urusan, OPD and funding-source
// codes. Loaded once per page before a view renders; until then, or if it fails, a code shows as itself.
import { get } from "./api.js";

let loading = null;
let names = { urusan: {}, opd: {}, funding_sources: {}, termination_reasons: {} };

function index(vocabulary) {
  return Object.fromEntries(((vocabulary && vocabulary.items) || []).map((i) => [i.code, i.name]));
}

/** Load the vocabularies once (later calls reuse the first answer; a failure is retried next time). */
export function loadVocabularies() {
  if (!loading) {
    loading = get("/vocabularies").then((v) => {
      names = { urusan: index(v.urusan), opd: index(v.opd), funding_sources: index(v.funding_sources),
                termination_reasons: index(v.termination_reasons) };
    }).catch(() => { loading = null; });
  }
  return loading;
}

export const urusanName = (code) => names.urusan[code] || code;
export const opdName = (code) => names.opd[code] || code;
export const fundingName = (code) => names.funding_sources[code] || code;
export const terminationName = (code) => names.termination_reasons[code] || code;
