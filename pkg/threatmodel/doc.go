// Package threatmodel checks that a pull request body answers the four questions
// of threat modelling (Adam Shostack's four question framework):
//
//  1. What are we working on?
//  2. What can go wrong?
//  3. What are we going to do about it?
//  4. Did we do a good job?
//
// # Labels
//
// The body is read as GitHub renders it: parsed with goldmark, a CommonMark
// parser, with GitHub's tables. A question counts only where it appears as a
// label: an ATX heading ("## What can go wrong?"), a setext heading (the
// question, on one line or several, underlined with === or ---), a line that
// starts with a bold label ("**What can go wrong?** answer…" or "__…__", bold
// as CommonMark reads it: "**" that never closes is not bold), or a list item
// ("1. What can go wrong?", "1) …", "- **Q2: What can go wrong?**"). Matching
// ignores case, punctuation, emoji, markdown emphasis, repeated whitespace and a
// "Q1:", "1.", "Question 1 -" style prefix. The question inside a sentence, a
// code block (fenced or indented), a block quote, an HTML block (the lines after
// "<details>", a "<pre>"), a table or an HTML comment is not a label, and
// neither is "Q1 Q2 Q3 Q4" or "Q1: done". Bold and list labels are looked for
// at the start of each line of a paragraph, since GitHub shows a PR body's line
// breaks.
//
// # Answers
//
// A label's answer is the text after it up to the next question label. It also
// ends at a heading of the same or a higher level than the label's own heading
// (or, for a bold or list label, than the heading it sits under), so that an
// unrelated "## Checklist" after the last question is not taken as its answer.
// HTML comments are removed first, where CommonMark sees them (not inside code
// or after a backslash): PR templates keep their instructions there. So is the
// other raw HTML GitHub does not show: tags (with their attributes), "<?…?>",
// "<!…>", CDATA, and the elements its sanitizer drops with their content
// (script, style, ...). Link reference definitions ("[label]: url", over one
// or more lines) are not shown, so they are no answer.
// Code blocks stay part of the answer (a diagram or a config excerpt is a real
// answer); only the fence lines themselves are dropped.
//
// An answer is rejected when it is empty, only template placeholder text (HTML
// comments, an italic instruction line such as "_e.g. …_" or "_Describe …_", a
// bracketed "[…]" line, or a line equal to one of [Options.Placeholders]), a
// non-answer such as "N/A", "TBD" or "see above", a repetition of a question, or
// shorter than [Options.MinWords] distinct meaningful words. Words are
// whitespace-separated tokens; each Han, Hiragana or Katakana character counts
// as one, since those scripts do not separate words with spaces. A token counts
// only when it holds a meaningful word — not a placeholder (TBD, TODO, N/A,
// none, tbc, xxx, lorem ipsum, yes, no, …), not only digits, not a single
// letter, not a word of the question being answered — and tokens count once
// each, so "TBD TBD TBD TBD TBD", "1 2 3 4 5" and the question repeated fail.
// Letters are folded first (case, fullwidth forms, Cyrillic and Greek
// look-alikes; zero-width characters and combining marks dropped), so a
// disguised filler is still a filler. An answer whose every meaningful word is
// a word of some question only repeats the questions. An answer with the same
// words (normalized, in any order) as the accepted answer to another question
// answers only that one: "alpha bravo charlie delta echo" under all four
// questions answers the first and fails the other three.
//
// # Untrusted input
//
// The body is untrusted. It is bounded by [Options.MaxBodyBytes] (an oversized
// body is an input error, never silently truncated), invalid UTF-8 is replaced
// rather than rejected, and CRLF or CR line endings are read as LF. The parser
// leaves out links (read as text; goldmark's link parser is quadratic on some
// inputs) and a line opens at most 32 nested block quotes or list items, so
// that parsing stays fast on hostile bodies. Nothing from
// the body is copied into a [Result]: reasons are fixed texts with numbers, the
// question names come from the options, and the answers are represented only by
// [Result.AnswersDigest]. A Result can therefore go into logs, annotations and
// workflow commands without escaping.
package threatmodel
