// Indonesian formats: dates "dd MMMM yyyy" (21 November 2024), money "Rp 1.250.000.000",
// numbers with Indonesian separators (72,4). Month names follow the chosen language.
import { t } from "./i18n.js";

const TIMEZONE = "Asia/Jakarta";
const integer = new Intl.NumberFormat("id-ID", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("id-ID", { maximumFractionDigits: 1 });
const jakartaParts = new Intl.DateTimeFormat("en-GB", {
  timeZone: TIMEZONE, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
  hourCycle: "h23",
});

const pad = (n) => String(n).padStart(2, "0");

/** "2024-11-21" (a local date) → "21 November 2024". */
export function formatDate(iso) {
  if (!iso) return t("common.none");
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
  if (!match) return String(iso);
  const [, year, month, day] = match;
  return `${day} ${t("months")[Number(month) - 1]} ${year}`;
}

/** An ISO timestamp (UTC) → "21 November 2024, 14.05 WIB" (Asia/Jakarta). */
export function formatDateTime(iso) {
  if (!iso) return t("common.none");
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  const parts = Object.fromEntries(jakartaParts.formatToParts(when).map((p) => [p.type, p.value]));
  return `${pad(parts.day)} ${t("months")[Number(parts.month) - 1]} ${parts.year}, ${parts.hour}.${parts.minute} WIB`;
}

/** The date part of an ISO timestamp, in Jakarta, as "yyyy-mm-dd". */
export function jakartaDate(iso) {
  const parts = Object.fromEntries(jakartaParts.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${pad(parts.month)}-${pad(parts.day)}`;
}

export function formatMoney(value) {
  if (value === null || value === undefined || value === "") return t("common.none");
  return `Rp ${integer.format(Number(value))}`;
}

export function formatNumber(value) {
  if (value === null || value === undefined || value === "") return t("common.none");
  return Number.isInteger(Number(value)) ? integer.format(Number(value)) : decimal.format(Number(value));
}

export function formatPercent(value) {
  if (value === null || value === undefined) return t("common.none");
  return `${decimal.format(Number(value))}%`;
}

export function formatScore(value) {
  if (value === null || value === undefined) return t("common.none");
  return decimal.format(Number(value));
}
