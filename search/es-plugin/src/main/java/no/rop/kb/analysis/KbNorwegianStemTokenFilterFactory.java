package no.rop.kb.analysis;

import java.util.Locale;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.no.NorwegianLightStemFilter;
import org.apache.lucene.analysis.no.NorwegianLightStemmer;
import org.apache.lucene.analysis.no.NorwegianMinimalStemFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.StringSetting;
import org.tartarus.snowball.ext.NorwegianStemmer;

/**
 * {@code kb_norwegian_stem}: Norwegian stemming.
 * <ul>
 *   <li>{@code variant}: {@code minimal} (default, NorwegianMinimalStemFilter: plural/definite
 *       endings only; lidelse/lidelsen/lidelser/lidelsene&rarr;lidels, psykiske&rarr;psykisk,
 *       tenesta/tenestene&rarr;tenest), {@code light} (NorwegianLightStemFilter: more aggressive and
 *       less consistent: lidelser&rarr;lid but lidelsene&rarr;lidels) or {@code snowball} (Snowball
 *       Norwegian, Bokmål rules only; what ES's "norwegian" analyzer uses)</li>
 *   <li>{@code bokmaal}, {@code nynorsk}: which written standards the light/minimal stemmers handle
 *       (both true by default)</li>
 * </ul>
 * Respects the keyword attribute (tokens marked as keywords are not stemmed).
 */
@NamedComponent("kb_norwegian_stem")
public final class KbNorwegianStemTokenFilterFactory implements TokenFilterFactory {

    @AnalysisSettings
    public interface Settings {
        @StringSetting(path = "variant", defaultValue = "minimal")
        String variant();

        /** Bokmål rules (light/minimal variants). */
        @BooleanSetting(path = "bokmaal", defaultValue = true)
        boolean bokmaal();

        /** Nynorsk rules (light/minimal variants). */
        @BooleanSetting(path = "nynorsk", defaultValue = true)
        boolean nynorsk();
    }

    private final String variant;
    private final int flags;

    @Inject
    public KbNorwegianStemTokenFilterFactory(Settings settings) {
        this.variant = settings.variant().trim().toLowerCase(Locale.ROOT);
        int f = 0;
        if (settings.bokmaal()) {
            f |= NorwegianLightStemmer.BOKMAAL;
        }
        if (settings.nynorsk()) {
            f |= NorwegianLightStemmer.NYNORSK;
        }
        if (f == 0) {
            throw new IllegalArgumentException("kb_norwegian_stem: at least one of [bokmaal, nynorsk] must be true");
        }
        this.flags = f;
        switch (variant) {
            case "light", "minimal", "snowball" -> {}
            default -> throw new IllegalArgumentException(
                "kb_norwegian_stem: unknown variant [" + variant + "], expected one of [light, minimal, snowball]"
            );
        }
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return switch (variant) {
            case "light" -> new NorwegianLightStemFilter(tokenStream, flags);
            case "snowball" -> new SnowballFilter(tokenStream, new NorwegianStemmer());
            default -> new NorwegianMinimalStemFilter(tokenStream, flags);
        };
    }
}
