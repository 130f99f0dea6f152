// The bureau's own bpmnlint rules (see rules/). `plugin:scitech/recommended` turns them on as
// warnings: they are conventions of our processes, not reasons to refuse a deployment. bpmnlint
// finds each rule itself at rules/<name>.js.
module.exports = {
  configs: {
    recommended: {
      rules: {
        'user-task-form': 'warn',
        'user-task-role': 'warn',
        'user-task-due-date': 'warn',
        'bilingual-name': 'warn'
      }
    }
  }
};
