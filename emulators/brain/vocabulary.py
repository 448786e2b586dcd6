"""The skills vocabulary the rule-based extraction recognises anywhere in a resume, with common aliases."""

from __future__ import annotations

import re

SKILLS: tuple[str, ...] = (
    "Python", "Java", "JavaScript", "TypeScript", "Go", "Rust", "C#", "C++", "C", "Ruby", "PHP", "Kotlin",
    "Swift", "Scala", "R", "SQL", "Bash", "HTML", "CSS", "React", "Angular", "Vue", "Node.js", "Django",
    "Flask", "FastAPI", "Spring", "ASP.NET", ".NET", "GraphQL", "REST", "gRPC", "PostgreSQL", "MySQL",
    "SQLite", "MongoDB", "Redis", "Cassandra", "Elasticsearch", "Kafka", "RabbitMQ", "Spark", "Hadoop",
    "Airflow", "dbt", "Snowflake", "Databricks", "Pandas", "NumPy", "scikit-learn", "PyTorch", "TensorFlow",
    "Machine Learning", "Deep Learning", "NLP", "Computer Vision", "Data Analysis", "Statistics", "Azure",
    "AWS", "GCP", "Docker", "Kubernetes", "Terraform", "Ansible", "Bicep", "CI/CD", "GitHub Actions",
    "Jenkins",
    "Git", "Linux", "Microservices", "Distributed Systems", "Azure Functions", "Durable Functions",
    "Event-Driven Architecture", "OAuth", "Security", "Testing", "TDD", "Agile", "Scrum", "Kanban",
    "Project Management", "Product Management", "Leadership", "Mentoring", "Communication",
    "Stakeholder Management",
    "Customer Service", "Sales", "Negotiation", "Excel", "Power BI", "Tableau", "Figma", "UX Design",
    "Accounting", "Budgeting", "Recruiting", "Marketing", "SEO", "Copywriting", "Observability", "Prometheus",
    "Grafana", "OpenTelemetry", "Networking", "Cloud Architecture", "Performance Tuning",
)  # fmt: skip

ALIASES: dict[str, str] = {
    "k8s": "Kubernetes",
    "postgres": "PostgreSQL",
    "golang": "Go",
    "js": "JavaScript",
    "ts": "TypeScript",
    "node": "Node.js",
    "nodejs": "Node.js",
    "ml": "Machine Learning",
    "sklearn": "scikit-learn",
    "gcp": "GCP",
    "google cloud": "GCP",
    "amazon web services": "AWS",
    "microsoft azure": "Azure",
    "ci cd": "CI/CD",
    "continuous integration": "CI/CD",
    "dotnet": ".NET",
    "rest apis": "REST",
    "restful apis": "REST",
}

# A skill that shows another: a resume naming PostgreSQL shows SQL, one naming Django shows Python.
IMPLIES: dict[str, tuple[str, ...]] = {
    "SQL": ("PostgreSQL", "MySQL", "SQLite", "Snowflake", "dbt", "SQL Server", "T-SQL"),
    "Python": ("Django", "Flask", "FastAPI", "Pandas", "NumPy", "PyTorch", "scikit-learn", "Airflow"),
    "JavaScript": ("TypeScript", "React", "Angular", "Vue", "Node.js"),
    "REST": ("REST APIs", "RESTful", "FastAPI", "Flask", "Django", "OpenAPI", "HTTP APIs"),
    "Azure": ("Azure Functions", "Durable Functions", "Bicep"),
    "Docker": ("Kubernetes",),
    "Machine Learning": ("PyTorch", "TensorFlow", "scikit-learn", "Deep Learning"),
}

# Single letters and ordinary English words count only in a Skills section, never in prose.
_PROSE_AMBIGUOUS = frozenset(
    {"C", "R", "Go", "Spring", "Testing", "Security", "Communication", "Leadership", "Sales"}
)


def canonical_skill(name: str) -> str:
    """Return the vocabulary spelling of a skill name (aliases folded), or the trimmed name itself."""
    cleaned = " ".join(name.strip().split())
    lowered = cleaned.lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    for skill in SKILLS:
        if skill.lower() == lowered:
            return skill
    return cleaned


def skill_pattern(skill: str) -> re.Pattern[str]:
    """Build a case-insensitive pattern that finds `skill` as a whole term (`C` never matches in `CSS`)."""
    return re.compile(rf"(?<![\w+#.]){re.escape(skill)}(?![\w+#])", re.IGNORECASE)


def skills_in_prose(text: str) -> list[str]:
    """Return vocabulary skills (or aliases) mentioned anywhere in `text`, in vocabulary order, once each."""
    found: list[str] = []
    for skill in SKILLS:
        if skill in _PROSE_AMBIGUOUS:
            continue
        if skill_pattern(skill).search(text) and skill not in found:
            found.append(skill)
    for alias, skill in ALIASES.items():
        if len(alias) > 2 and skill_pattern(alias).search(text) and skill not in found:
            found.append(skill)
    return found


def mentions_skill(text: str, skill: str) -> bool:
    """Tell whether `text` mentions `skill`, an alias of it or a skill that implies it, as a whole term."""
    target = canonical_skill(skill)
    names = [skill, target, *[alias for alias, canonical in ALIASES.items() if canonical == target]]
    names.extend(IMPLIES.get(target, ()))
    return any(skill_pattern(name).search(text) for name in names if name)
