output "agent_arns" {
  description = "ARN of each collaborator agent, by agent name (the source_arn of its function's invoke permission)."
  value       = { for name, agent in aws_bedrockagent_agent.collaborator : name => agent.agent_arn }
}

output "agent_ids" {
  description = "ID of each collaborator agent, by agent name."
  value       = { for name, agent in aws_bedrockagent_agent.collaborator : name => agent.agent_id }
}

output "alias_arns" {
  description = "ARN of each collaborator's alias, by agent name."
  value       = { for name, alias in aws_bedrockagent_agent_alias.collaborator : name => alias.agent_alias_arn }
}

output "supervisor_agent_id" {
  description = "ID of the supervisor agent (InvokeAgent agentId)."
  value       = aws_bedrockagent_agent.supervisor.agent_id
}

output "supervisor_alias_id" {
  description = "ID of the supervisor's alias (InvokeAgent agentAliasId)."
  value       = aws_bedrockagent_agent_alias.supervisor.agent_alias_id
}

output "supervisor_alias_arn" {
  description = "ARN of the supervisor's alias."
  value       = aws_bedrockagent_agent_alias.supervisor.agent_alias_arn
}

output "agent_role_arn" {
  description = "ARN of the role the agents run as."
  value       = aws_iam_role.this.arn
}
