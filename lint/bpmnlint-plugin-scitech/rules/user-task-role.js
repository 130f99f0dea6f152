// Every user task says who does it: an assignee, candidate users or groups, or a lane whose name
// is the candidate group. A task with none of them reaches nobody's inbox.
const { is } = require('bpmnlint-utils');

function laneMembers(process) {
  const members = new Set();
  (process.get('laneSets') || []).forEach(function visit(laneSet) {
    (laneSet.get('lanes') || []).forEach(function(lane) {
      (lane.get('flowNodeRef') || []).forEach(function(node) { members.add(node.id); });
      if (lane.get('childLaneSet')) { visit(lane.get('childLaneSet')); }
    });
  });
  return members;
}

module.exports = function() {
  function check(node, reporter) {
    if (!is(node, 'bpmn:Process')) { return; }
    const inLane = laneMembers(node);
    (node.get('flowElements') || []).forEach(function visit(element) {
      if (is(element, 'bpmn:SubProcess')) { (element.get('flowElements') || []).forEach(visit); }
      if (!is(element, 'bpmn:UserTask')) { return; }
      const assigned = element.get('camunda:assignee') || element.get('camunda:candidateUsers') ||
        element.get('camunda:candidateGroups');
      if (!assigned && !inLane.has(element.id)) {
        reporter.report(element.id, 'User task has no assignee, candidates or lane: it reaches nobody');
      }
    });
  }
  return { check };
};
