// Diffusion vs autoregressive on one repository (docs/compare.md): the equal-compute comparison,
// the retrieval baseline, the syntax check of completions, and the training-data audit.
// Editor-independent: never imports `vscode`.
export { runCompare, formatCompareTable, chartFromReport, spreadTasks, OBJECTIVES, MAX_MIDDLE_TOKENS } from './compare';
export type { CompareOptions, CompareHooks, CompareReport, EngineScores, ObjectiveName } from './compare';
export { curveFromEvents, pairPoints, findCrossover, resultSentence, trainingFlops, fmtFlops } from './curves';
export type { RunCurve, CurvePoint, Crossover, PairedPoint, Metric, FinalScores } from './curves';
export { RetrievalIndex, scoreRetrieval, trigramSimilarity } from './retrieval';
export type { BaselineScore, RetrievalHit } from './retrieval';
export { renderCompareSvg } from './chart';
export type { ChartInput } from './chart';
export { checkSyntax } from './syntax';
export type { SyntaxReport, SyntaxTask } from './syntax';
export { auditRun, formatAudit, longestVerbatimRun } from './audit';
export type { AuditOptions, AuditReport, SecretFinding } from './audit';
export { readCorpusTokens, trainingText } from './corpusText';
