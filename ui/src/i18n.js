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
