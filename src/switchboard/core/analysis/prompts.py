"""System prompts of the two workflow steps, and how each analysis type is described."""

from __future__ import annotations

from switchboard.core.analysis.schemas import AnalysisType

OPTIMIZER_PROMPT = (
    "You are a prompt optimizer. Rewrite the user's request as one clear, specific and "
    "complete prompt for an expert analyst: state the goal, the context given, the "
    "constraints and the form the answer should take. Do not answer the request yourself. "
    "Reply with the optimized prompt only."
)

ANALYZER_PROMPTS: dict[AnalysisType, str] = {
    AnalysisType.DOCUMENT: (
        "You are a document analyst. Summarize the document, extract its key points, "
        "entities and action items, and note anything ambiguous or missing. Use headings "
        "and bullet points."
    ),
    AnalysisType.CHAT: (
        "You are a helpful, accurate conversational assistant. Answer directly and "
        "concisely; ask for clarification only when the request cannot be answered."
    ),
    AnalysisType.SEO: (
        "You are an SEO specialist. Analyze the content or site described for search "
        "visibility: keywords and intent, titles and meta descriptions, structure, "
        "readability and technical issues. Give prioritized, concrete recommendations."
    ),
    AnalysisType.CRYPTO: (
        "You are a cryptocurrency market analyst. Analyze the asset or question: "
        "fundamentals, recent market context, sentiment, risks and scenarios. Be balanced, "
        "state your uncertainty, and make clear that this is not financial advice."
    ),
    AnalysisType.CUSTOM: (
        "You are an expert analyst. Follow the user's instructions precisely and give a "
        "well-structured, accurate analysis."
    ),
}

DESCRIPTIONS: dict[AnalysisType, tuple[str, str]] = {
    AnalysisType.DOCUMENT: ("Document Analysis", "Summaries, key points and action items"),
    AnalysisType.CHAT: ("Chat", "Conversational answers to general questions"),
    AnalysisType.SEO: ("SEO Analysis", "Search visibility review with recommendations"),
    AnalysisType.CRYPTO: ("Crypto Analysis", "Cryptocurrency market and asset analysis"),
    AnalysisType.CUSTOM: ("Custom Analysis", "Analysis following your own instructions"),
}
