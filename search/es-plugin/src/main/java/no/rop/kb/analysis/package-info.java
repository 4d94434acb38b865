/**
 * kb's Elasticsearch stable analysis plugin ("analysis-kb").
 *
 * <p>The integ-test-zip Elasticsearch distribution kb runs has no analysis-common module, so it lacks
 * the usual lowercase / asciifolding / stemmer / language-stop filters. The Lucene classes behind
 * them are on the server class path anyway (lucene-analysis-common); this plugin exposes them as
 * named components through the stable plugin API. Token filters:
 *
 * <ul>
 *   <li>{@code kb_lowercase}</li>
 *   <li>{@code kb_ascii_folding} &mdash; {@code preserve_original} (bool, false)</li>
 *   <li>{@code kb_scandinavian_folding} &mdash; å/æ/ä&rarr;a, ø/ö&rarr;o, aa/ae/ao/oe/oo&rarr;a/a/a/o/o</li>
 *   <li>{@code kb_norwegian_stop}, {@code kb_english_stop} &mdash; {@code ignore_case} (bool, false),
 *       {@code extra_stopwords} (list)</li>
 *   <li>{@code kb_norwegian_stem} &mdash; {@code variant} minimal|light|snowball (minimal),
 *       {@code bokmaal} (bool, true), {@code nynorsk} (bool, true)</li>
 *   <li>{@code kb_english_stem} &mdash; {@code variant} porter|kstem|minimal|snowball (porter),
 *       {@code possessive} (bool, true)</li>
 * </ul>
 *
 * <p>and the tokenizer {@code kb_keyword} (whole input as one token). Custom normalizers cannot use
 * stable-plugin filters (Elasticsearch only accepts its own NormalizingTokenFilterFactory there).
 */
package no.rop.kb.analysis;
