// The pages' scripts show their messages through t(): the Vietnamese text is the id, and the page
// hands over the reader's language (window.motcuaMessages, from web/i18n.py); %(name)s is filled in.
window.t = (text, values = {}) =>
  ((window.motcuaMessages || {})[text] || text).replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));

// bpmn-js and dmn-js show their own words through a `translate(template, replacements)` service
// (their docs, "Translations"): this builds one from a table of Vietnamese texts by English
// template, used on Vietnamese pages only; {name} placeholders are filled as those libraries do.
window.motcuaTranslator = (table) => (template, replacements) => {
  const words = document.documentElement.lang === "vi" ? table : {};
  const values = replacements || {};
  return (words[template] || template).replace(/{([^}]+)}/g, (_, key) => values[key.trim()] ?? `{${key}}`);
};

// htmx leaves 4xx answers unswapped by default; ours carry the reason for the user, so show them.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400 && status < 500) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
