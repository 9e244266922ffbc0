type Json = Record<string, unknown>;

const str = (value: unknown): string => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));

function actions(step: unknown): string {
  const list = (step as { actions?: Array<{ action?: unknown; app?: unknown }> } | undefined)?.actions ?? [];
  return list.map((a) => `${str(a.action)} ${str(a.app)}`).join(', ');
}

function planStep(data: Json): string {
  const plan = data.plan as { id?: unknown; steps?: unknown[] } | undefined;
  const steps = plan?.steps ?? [];
  const index = steps.findIndex((s) => JSON.stringify(s) === JSON.stringify(data.currentStep));
  return `deployment ${str(plan?.id)} step ${index + 1}/${steps.length}: ${actions(data.currentStep)}`;
}

/** What an event says, in one line of plain words (the type and time are shown beside it). */
export function describeEvent(type: string, data: Json): string {
  switch (type) {
    case 'status_update_event': {
      const ports = Array.isArray(data.ports) && data.ports.length > 0 ? `:${data.ports.join(',')}` : '';
      const message = str(data.message) === '' ? '' : ` (${str(data.message)})`;
      return `${str(data.appId)} ${str(data.taskId)} ${str(data.taskStatus)} on ${str(data.host)}${ports}${message}`;
    }
    case 'instance_changed_event':
      return `${str(data.runSpecId)} ${str(data.id)} ${str(data.condition)} on ${str(data.host)} (goal ${str(data.goal)})`;
    case 'instance_health_changed_event':
      return `${str(data.runSpecId)} ${str(data.instanceId)} ${data.healthy === true ? 'healthy' : 'unhealthy'}`;
    case 'health_status_changed_event':
      return `${str(data.appId)} ${str(data.taskId)} check ${data.alive === true ? 'alive' : 'failing'}`;
    case 'failed_health_check_event':
      return `${str(data.appId)} ${str(data.taskId)} failed a health check`;
    case 'unhealthy_instance_kill_event':
      return `${str(data.appId)} ${str(data.taskId)} killed as unhealthy: ${str(data.reason)}`;
    case 'api_post_event':
      return `${str((data.appDefinition as Json | undefined)?.id)} changed through ${str(data.uri)} by ${str(data.clientIp)}`;
    case 'app_terminated_event':
      return `${str(data.appId)} removed`;
    case 'deployment_info':
    case 'deployment_step_success':
    case 'deployment_step_failure':
      return planStep(data);
    case 'deployment_success':
      return `deployment ${str(data.id)} succeeded`;
    case 'deployment_failed':
      return `deployment ${str(data.id)} failed: ${str(data.reason)}`;
    case 'group_change_success':
      return `group ${str(data.groupId)} changed (version ${str(data.version)})`;
    case 'group_change_failed':
      return `group ${str(data.groupId)} change failed: ${str(data.reason)}`;
    case 'event_stream_attached':
    case 'event_stream_detached':
      return `subscriber ${str(data.remoteAddress)}`;
    default: {
      const { eventType: _type, timestamp: _time, ...rest } = data;
      return JSON.stringify(rest);
    }
  }
}

/** `HH:MM:SS.mmm` of an ISO timestamp (UTC, as the scheduler writes it); the text itself when it is not one. */
export function clockTime(timestamp: unknown): string {
  const text = str(timestamp);
  const match = /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(text);
  return match?.[1] ?? text;
}
