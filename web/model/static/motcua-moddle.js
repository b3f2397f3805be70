// The motcua: BPMN extension (docs/bpmn-extensions.md) described for bpmn-js's moddle, so the
// editor reads, keeps and writes these elements as typed objects instead of raw XML.
window.MOTCUA_MODDLE = {
  name: "motcua",
  uri: "https://motcua.vn/schema/bpmn/1.0",
  prefix: "motcua",
  xml: { tagAlias: "lowerCase" },
  associations: [],
  types: [
    {
      name: "Step",
      superClass: ["Element"],
      properties: ["role", "assignee", "budget", "budgetGroup", "warnAt", "clockStart", "priority", "form", "status",
                   "pause", "optional"]
        .map((name) => ({ name, isAttr: true, type: "String" })),
    },
    {
      name: "Escalation",
      superClass: ["Element"],
      properties: ["after", "action", "target", "priority"].map((name) => ({ name, isAttr: true, type: "String" })),
    },
    {
      name: "Status",
      superClass: ["Element"],
      properties: [{ name: "code", isAttr: true, type: "String" }],
    },
    {
      name: "Procedure",
      superClass: ["Element"],
      properties: [{ name: "code", isAttr: true, type: "String" }, { name: "legalLimit", isAttr: true, type: "String" }],
    },
    {
      name: "Defaults",
      superClass: ["Element"],
      properties: [
        { name: "warnAt", isAttr: true, type: "String" },
        { name: "escalations", type: "Escalation", isMany: true },
      ],
    },
    {
      name: "BudgetGroup",
      superClass: ["Element"],
      properties: ["id", "budget", "name"].map((name) => ({ name, isAttr: true, type: "String" })),
    },
  ],
};
