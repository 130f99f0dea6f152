// bpmn-js and its properties panel speak English only. This is their `translate` service fed
// from the server's catalogue (designer/_modeler_strings.html), so the palette, context pad and
// the panel's groups and fields follow the user's language; a string the catalogue lacks stays
// English instead of disappearing.
(function () {
  "use strict";
  var source = document.getElementById("modeler-strings");
  var strings = source ? JSON.parse(source.textContent) : {};
  function translate(template, replacements) {
    var text = Object.prototype.hasOwnProperty.call(strings, template) ? strings[template] : template;
    replacements = replacements || {};
    return text.replace(/{([^}]+)}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : whole;
    });
  }
  window.designerTranslateModule = { translate: ["value", translate] };
})();
