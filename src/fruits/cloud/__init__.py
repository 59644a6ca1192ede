"""Cloud side of the platform: pure builders (execution input, step arguments, policies) and the
AWS-calling code behind the CLI's cloud commands. Builders never call AWS."""
