// Lints BPMN files with bpmnlint (its recommended rules and ours, lint/bpmnlint-plugin-scitech).
// Reads {"filename": "<xml>", ...} as JSON on stdin, prints [{file, rule, id, message, category}]
// as JSON on stdout; one process for all files of a draft. Called by engine/designer/bpmnlint.py.
'use strict';
const { BpmnModdle } = require('bpmn-moddle');
const Linter = require('bpmnlint/lib/linter');
const NodeResolver = require('bpmnlint/lib/resolver/node-resolver');
const camunda = require('camunda-bpmn-moddle/resources/camunda.json');
const config = require('./bpmnlintrc.json');

async function lintOne(file, xml) {
  const moddle = new BpmnModdle({ camunda });
  let root;
  try {
    root = (await moddle.fromXML(xml)).rootElement;
  } catch (error) {
    return [{ file, rule: 'parse', id: null, message: String(error.message).split('\n')[0], category: 'error' }];
  }
  const reports = await new Linter({ config, resolver: new NodeResolver() }).lint(root);
  const found = [];
  Object.keys(reports).forEach(function(rule) {
    reports[rule].forEach(function(report) {
      found.push({ file, rule, id: report.id || null, message: report.message, category: report.category });
    });
  });
  return found;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', function(chunk) { input += chunk; });
process.stdin.on('end', async function() {
  const files = JSON.parse(input || '{}');
  const results = [];
  for (const file of Object.keys(files)) {
    results.push(...await lintOne(file, files[file]));
  }
  process.stdout.write(JSON.stringify(results));
});
