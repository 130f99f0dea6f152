// form-js 1.x's editor has no translation service for its palette and properties panel, so its
// texts are replaced in its DOM from the server's catalogue (designer/_form_editor_strings.html),
// now and whenever the editor renders again. Only the editor's own chrome is translated: the
// form being edited (.fjs-form) keeps the designer's words, and inputs' values are never read.
(function () {
  "use strict";
  var source = document.getElementById("form-editor-strings");
  var strings = source ? JSON.parse(source.textContent) : {};
  var patterns = [
    [/^Create an? (.+) element$/, "Create a {type} element", "type"],
    [/^Remove (.+)$/, "Remove {type}", "type"],
    [/^List contains (\d+) items?$/, "List contains {n} items", "n"]
  ];
  var ATTRIBUTES = ["title", "placeholder", "aria-label"];

  function own(table, key) { return Object.prototype.hasOwnProperty.call(table, key); }

  function translated(text) {
    var trimmed = text.trim();
    if (!trimmed) { return null; }
    if (own(strings, trimmed)) { return text.replace(trimmed, strings[trimmed]); }
    for (var i = 0; i < patterns.length; i++) {
      var match = patterns[i][0].exec(trimmed);
      if (match && own(strings, patterns[i][1])) {
        var part = patterns[i][2] === "type" && own(strings, match[1]) ? strings[match[1]] : match[1];
        return text.replace(trimmed, strings[patterns[i][1]].replace("{" + patterns[i][2] + "}", part));
      }
    }
    return null;
  }

  function skipped(element) {
    return !element || element.closest(".fjs-form") !== null || element.closest("[contenteditable]") !== null;
  }

  // the editor's buttons on the canvas (remove, drag) carry their own titles; a field's
  // placeholder is the designer's text
  function translateAttributes(element) {
    ATTRIBUTES.forEach(function (name) {
      if (name === "placeholder" && skipped(element)) { return; }
      var value = element.getAttribute(name);
      var text = value && translated(value);
      if (text && text !== value) { element.setAttribute(name, text); }
    });
  }

  function translateNode(node) {
    if (node.nodeType === Node.TEXT_NODE) {
      if (skipped(node.parentElement)) { return; }
      var text = translated(node.data);
      if (text !== null && text !== node.data) { node.data = text; }
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) { return; }
    translateAttributes(node);
    var walker = document.createTreeWalker(node, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (var current = walker.nextNode(); current; current = walker.nextNode()) {
      if (current.nodeType === Node.TEXT_NODE) {
        translateNode(current);
      } else {
        translateAttributes(current);
      }
    }
  }

  window.translateFormEditor = function (root) {
    if (!root || !Object.keys(strings).length) { return; }
    translateNode(root);
    new MutationObserver(function (mutations) {
      mutations.forEach(function (mutation) {
        if (mutation.type === "childList") {
          mutation.addedNodes.forEach(translateNode);
        } else {
          translateNode(mutation.target);
        }
      });
    }).observe(root, { childList: true, subtree: true, characterData: true, attributes: true,
                       attributeFilter: ATTRIBUTES });
  };
})();
