package no.rop.kb.analysis;

import java.util.List;

import org.apache.lucene.analysis.CharArraySet;

final class StopWords {

    private StopWords() {}

    /** A copy of {@code defaults} (case-insensitive if asked) plus {@code extra}. */
    static CharArraySet build(CharArraySet defaults, boolean ignoreCase, List<String> extra) {
        CharArraySet set = new CharArraySet(defaults.size() + extra.size(), ignoreCase);
        set.addAll(defaults);
        for (String word : extra) {
            if (word != null && word.isBlank() == false) {
                set.add(word.trim());
            }
        }
        return CharArraySet.unmodifiableSet(set);
    }
}
