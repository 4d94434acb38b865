package no.rop.kb.analysis;

import java.util.List;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.no.NorwegianAnalyzer;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.ListSetting;

/**
 * {@code kb_norwegian_stop}: Lucene's Norwegian stop set (the Snowball list, 172 words, Bokmål and
 * Nynorsk forms: og, i, det, ikkje, eg, ho, ...). Put it after kb_lowercase.
 */
@NamedComponent("kb_norwegian_stop")
public final class KbNorwegianStopTokenFilterFactory implements TokenFilterFactory {

    @AnalysisSettings
    public interface Settings {
        @BooleanSetting(path = "ignore_case", defaultValue = false)
        boolean ignoreCase();

        @ListSetting(path = "extra_stopwords")
        List<String> extraStopwords();
    }

    private final CharArraySet stopWords;

    @Inject
    public KbNorwegianStopTokenFilterFactory(Settings settings) {
        this.stopWords = StopWords.build(NorwegianAnalyzer.getDefaultStopSet(), settings.ignoreCase(), settings.extraStopwords());
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new StopFilter(tokenStream, stopWords);
    }
}
