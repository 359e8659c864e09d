"""What the scripted model answers for each example pipeline (rules: first match wins; a prompt
no rule matches gets a deterministic echo, or the smallest value its schema allows)."""
from __future__ import annotations

HELLO = [
    {"match": "three-sentence briefing about green tea for beginners",
     "reply": "Green tea is lightly oxidised. It is rich in catechins. Brew it at 80 degrees."},
    {"match": "five-word title", "reply": "All About Green Tea Today"},
]

TRIAGE = [
    {"match": "Extract at most 5 distinct issues",
     "reply": {"issues": [{"title": "Checkout crashes with a discount code", "severity": "high"},
                          {"title": "Dark mode hides the order history", "severity": "medium"},
                          {"title": "Only one saved address", "severity": "low"}]}},
    {"match": "status update: 3 issues", "reply": "3 issues triaged; the checkout crash comes first."},
]

CONTRACT = [
    {"match": r"legal risk", "reply": "Risk: the supplier may change the terms with only fourteen days' notice."},
    {"match": "plain English",
     "reply": "Neither side pays for indirect losses, and total liability is capped at one year of fees."},
]

SUPPORT_BILLING = [
    {"match": "Classify this support ticket", "reply": {"category": "billing", "urgency": 0.9}},
    {"match": "Answer this billing question", "reply": "Sorry about that: your invoice has been corrected."},
]
SUPPORT_TECHNICAL = [
    {"match": "Classify this support ticket", "reply": {"category": "technical", "urgency": 0.2}},
    {"match": "troubleshooting steps", "reply": "1. Update the app. 2. Restart your phone."},
]

PUBLISH = [
    {"match": "List the factual claims", "reply": "Claim: results beat expectations."},
    {"match": "Polish this text", "reply": "POLISHED: Q3 results beat expectations."},
    {"match": "Expand this into", "reply": "REWRITTEN: a full announcement."},
]

BUILD = [{"match": "Suggest one fix", "reply": "Add the directory of config.h to the include path."}]

CHAPTERS = [
    {"match": "Outline a short guide", "reply": {"chapters": ["Why compost", "Bins and heaps", "Troubleshooting"]}},
]


def taglines(*scores):
    taglines = ["Tea, by sunlight.", "Sunlight, steeped.", "Brewed by the sun.", "Solar tea time."]
    replies = [{"score": s, "tagline": taglines[i % len(taglines)]} for i, s in enumerate(scores)]
    return [{"match": "Score this tagline", "reply": replies},
            {"match": "Write a tagline for", "reply": "Boil water with sunshine."}]


CAMPAIGN = [
    {"match": "Which channel fits", "reply": {"value": "social"}},
    {"match": "How much should a small pilot campaign cost", "reply": {"value": 1200}},
    {"match": "brand voice", "reply": {"value": "warm, bold, simple"}},
    {"match": "Slogan themes for", "reply": {"value": ["planet", "habit", "design"]}},
    {"match": "printed flyer", "reply": {"value": False}},
    {"match": "Plan a campaign", "reply": {"headline": "Sip sustainably"}},
]

INVENTORY = [
    {"match": "Suggest three unit tests", "reply": "test_main_prints_one; test_readme_title; test_layout"},
    {"match": "Summarise project", "reply": "A tiny demo app with one module and a README."},
]

BRIEF = [
    {"match": "List three research questions",
     "reply": {"questions": ["What is a heat pump?", "How efficient is it?", "What does it cost?"]}},
    {"match": "Does this brief still need another revision", "reply": [{"value": True}, {"value": False}]},
]

# example -> (rules, -p parameters) used where every example runs the same way (convert tests)
DEFAULT = {
    "01_hello_report.yaml": (HELLO, ()),
    "02_feedback_triage.yaml": (TRIAGE, ()),
    "03_contract_review.yaml": (CONTRACT, ()),
    "04_support_router.yaml": (SUPPORT_BILLING, ()),
    "05_publish_gate.yaml": (PUBLISH, ()),
    "06_nightly_build.yaml": (BUILD, ()),
    "07_product_blurbs.yaml": ([], ()),
    "08_chapter_writer.yaml": (CHAPTERS, ()),
    "09_tagline_polisher.yaml": (taglines(5, 7, 9), ()),
    "10_campaign_planner.yaml": (CAMPAIGN, ()),
    "11_repo_inventory.yaml": (INVENTORY, ()),
    "12_research_brief.yaml": (BRIEF, ("topic=heat pumps",)),
}
