package no.rop.kb.analysis;

import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenizerFactory;

/**
 * {@code kb_keyword} tokenizer: the whole input as one token (Lucene's KeywordTokenizer). The
 * integ-test-zip server has no "keyword" tokenizer, and custom normalizers cannot use stable-plugin
 * filters, so a folded exact-match field is a text field with
 * {@code kb_keyword + kb_lowercase + kb_ascii_folding}.
 */
@NamedComponent("kb_keyword")
public final class KbKeywordTokenizerFactory implements TokenizerFactory {

    @Override
    public Tokenizer create() {
        return new KeywordTokenizer();
    }
}
