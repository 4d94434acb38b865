package no.rop.kb.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.ScandinavianFoldingFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * {@code kb_scandinavian_folding}: Lucene's ScandinavianFoldingFilter: å/æ/ä&rarr;a, ø/ö&rarr;o and the
 * double-vowel spellings aa, ae, ao, oe, oo &rarr; a, a, a, o, o (so "Odegaard", "Odegard" and "Ødegård"
 * all become "odegard"). Aggressive on English text ("shoe"&rarr;"sho"): meant for name fields.
 */
@NamedComponent("kb_scandinavian_folding")
public final class KbScandinavianFoldingTokenFilterFactory implements TokenFilterFactory {

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new ScandinavianFoldingFilter(tokenStream);
    }

    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return new ScandinavianFoldingFilter(tokenStream);
    }
}
