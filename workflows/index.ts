/** Entry point of the workflow bundle: every workflow the worker runs. */
export { elevationWorkflow } from './elevation-workflow.js';
export { reconcileWorkflow } from './reconcile-workflow.js';
export { auditForwarderWorkflow } from './audit-forwarder-workflow.js';
export { detectionWorkflow } from './detection-workflow.js';
export { attestationWorkflow, attestationSweepWorkflow } from './attestation-workflow.js';
export { breakGlassReviewWorkflow } from './break-glass-review-workflow.js';
