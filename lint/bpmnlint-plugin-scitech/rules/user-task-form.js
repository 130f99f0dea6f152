// Every user task shows its people a form (camunda:formKey); without one they cannot record
// a decision that the process can check.
const { is } = require('bpmnlint-utils');

module.exports = function() {
  function check(node, reporter) {
    if (is(node, 'bpmn:UserTask') && !node.get('camunda:formKey')) {
      reporter.report(node.id, 'User task has no form (camunda:formKey)');
    }
  }
  return { check };
};
