package no.rop.kb.analysis;

import java.util.List;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.ListSetting;

/**
 * {@code kb_english_stop}: Lucene's English stop set (33 words: a, and, for, the, of, ...; the same
 * list as Elasticsearch's {@code _english_}). Put it after kb_lowercase.
 */
@NamedComponent("kb_english_stop")
public final class KbEnglishStopTokenFilterFactory implements TokenFilterFactory {

    @AnalysisSettings
    public interface Settings {
        @BooleanSetting(path = "ignore_case", defaultValue = false)
        boolean ignoreCase();

        @ListSetting(path = "extra_stopwords")
        List<String> extraStopwords();
    }

    private final CharArraySet stopWords;

    @Inject
    public KbEnglishStopTokenFilterFactory(Settings settings) {
        this.stopWords = StopWords.build(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, settings.ignoreCase(), settings.extraStopwords());
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new StopFilter(tokenStream, stopWords);
    }
}
