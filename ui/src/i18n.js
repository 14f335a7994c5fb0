// Every text of the pages comes from these files: Chinese by default, English on request
// (the switch in the header, remembered in this browser).
import zh from "./i18n/zh.json";
import en from "./i18n/en.json";

const dictionaries = { zh, en };
export let lang = localStorage.getItem("wuzhi.lang") === "en" ? "en" : "zh";
document.documentElement.lang = lang === "en" ? "en" : "zh-CN";

export function setLang(l) {
  localStorage.setItem("wuzhi.lang", l);
  location.reload();
}

export function t(key, vars = {}) {
  const text = dictionaries[lang][key] ?? dictionaries.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

export function formatTime(ms) {
  return new Date(ms).toLocaleString(lang === "en" ? "en-GB" : "zh-CN", { timeZone: "Asia/Shanghai" });
}

/// A refusal of the server in the reader's words, from a page's own texts: the field's name
/// (`PREFIX.field.FIELD`), then the reason the page knows for that field and status
/// (`PREFIX.err.STATUS.FIELD`), else the server's words. A list line's index is dropped
/// (`served[2].minutes` reads as `served.minutes`).
export function refusal(prefix, e) {
  if (!e.field) return e.message;
  const field = e.field.replace(/\[\d+\]/g, "");
  const has = (key) => t(key) !== key;
  const label = has(`${prefix}.field.${field}`) ? t(`${prefix}.field.${field}`) : e.field;
  const reason = `${prefix}.err.${e.status}.${field}`;
  return `${label}：${has(reason) ? t(reason) : e.message}`;
}
