// Every user task has a deadline (camunda:dueDate, or the dueWorkingDays extension property),
// so that reminders and escalation can work.
const { is } = require('bpmnlint-utils');

function hasDueWorkingDays(node) {
  const extensions = node.get('extensionElements');
  const values = (extensions && extensions.get('values')) || [];
  return values.some(function(value) {
    return is(value, 'camunda:Properties') &&
      (value.get('values') || []).some(function(p) { return p.get('name') === 'dueWorkingDays'; });
  });
}

module.exports = function() {
  function check(node, reporter) {
    if (is(node, 'bpmn:UserTask') && !node.get('camunda:dueDate') && !hasDueWorkingDays(node)) {
      reporter.report(node.id, 'User task has no due date (camunda:dueDate or dueWorkingDays)');
    }
  }
  return { check };
};
