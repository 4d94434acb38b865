package no.rop.kb.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;

/**
 * {@code kb_ascii_folding}: Lucene's ASCIIFoldingFilter (ø&rarr;o, å&rarr;a, æ&rarr;ae, é&rarr;e, ...).
 * With {@code preserve_original: true} the unfolded token is kept at the same position as well.
 */
@NamedComponent("kb_ascii_folding")
public final class KbAsciiFoldingTokenFilterFactory implements TokenFilterFactory {

    @AnalysisSettings
    public interface Settings {
        @BooleanSetting(path = "preserve_original", defaultValue = false)
        boolean preserveOriginal();
    }

    private final boolean preserveOriginal;

    @Inject
    public KbAsciiFoldingTokenFilterFactory(Settings settings) {
        this.preserveOriginal = settings.preserveOriginal();
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new ASCIIFoldingFilter(tokenStream, preserveOriginal);
    }

    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        // normalizers (keyword fields, wildcard/prefix terms) need exactly one token
        return new ASCIIFoldingFilter(tokenStream, false);
    }
}
