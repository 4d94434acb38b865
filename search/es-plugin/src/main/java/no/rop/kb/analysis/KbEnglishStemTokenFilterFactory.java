package no.rop.kb.analysis;

import java.util.Locale;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.StringSetting;
import org.tartarus.snowball.ext.EnglishStemmer;

/**
 * {@code kb_english_stem}: English stemming.
 * <ul>
 *   <li>{@code variant}: {@code porter} (default, PorterStemFilter as in ES's "english" analyzer:
 *       disorders/disorder&rarr;disord), {@code kstem} (KStemFilter, dictionary based, milder:
 *       disorders&rarr;disorder), {@code minimal} (EnglishMinimalStemFilter, plurals only) or
 *       {@code snowball} (Snowball "English", a.k.a. Porter2)</li>
 *   <li>{@code possessive}: strip trailing 's first (EnglishPossessiveFilter), default true</li>
 * </ul>
 * Respects the keyword attribute (tokens marked as keywords are not stemmed).
 */
@NamedComponent("kb_english_stem")
public final class KbEnglishStemTokenFilterFactory implements TokenFilterFactory {

    @AnalysisSettings
    public interface Settings {
        @StringSetting(path = "variant", defaultValue = "porter")
        String variant();

        @BooleanSetting(path = "possessive", defaultValue = true)
        boolean possessive();
    }

    private final String variant;
    private final boolean possessive;

    @Inject
    public KbEnglishStemTokenFilterFactory(Settings settings) {
        this.variant = settings.variant().trim().toLowerCase(Locale.ROOT);
        this.possessive = settings.possessive();
        switch (variant) {
            case "porter", "kstem", "minimal", "snowball" -> {}
            default -> throw new IllegalArgumentException(
                "kb_english_stem: unknown variant [" + variant + "], expected one of [porter, kstem, minimal, snowball]"
            );
        }
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        TokenStream in = possessive ? new EnglishPossessiveFilter(tokenStream) : tokenStream;
        return switch (variant) {
            case "kstem" -> new KStemFilter(in);
            case "minimal" -> new EnglishMinimalStemFilter(in);
            case "snowball" -> new SnowballFilter(in, new EnglishStemmer());
            default -> new PorterStemFilter(in);
        };
    }
}
