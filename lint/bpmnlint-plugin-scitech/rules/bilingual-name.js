// Tasks and events are named in Chinese and English ("形式审查 · Formal review"), so that both
// languages of the product can show them.
const { isAny } = require('bpmnlint-utils');

module.exports = function() {
  function check(node, reporter) {
    if (!isAny(node, ['bpmn:Task', 'bpmn:StartEvent', 'bpmn:EndEvent', 'bpmn:CallActivity', 'bpmn:SubProcess'])) {
      return;
    }
    const name = node.get('name');
    if (name && name.indexOf(' · ') < 0) {
      reporter.report(node.id, 'Name is not given in both languages ("中文 · English")');
    }
  }
  return { check };
};
