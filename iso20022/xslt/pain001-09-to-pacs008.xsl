<?xml version="1.0" encoding="UTF-8"?>
<!--
  pain.001.001.09 → pacs.008.001.08 in a SWIFT-style Envelope with its head.001.001.02 AppHdr,
  for ONE transaction: CdtTrfTxInf number $tx of PmtInf number $pmt (both from 1).

  The input has passed Corridor's pain.001.001.09 profile and its rules (iso20022/pain001.c),
  whose shapes are those of the pacs.008 profile, so parts the JSON instruction has no field
  for (ultimate parties, party identifications, structured remittance, regulatory reporting,
  proprietary purpose, account currency) are copied across by renaming them into the pacs.008
  namespace. Values Corridor generates come as parameters, taken literally:
    $uetr     UETR (the pain.001's own, or a new one)     $msgid  GrpHdr/MsgId, AppHdr/BizMsgIdr
    $created  CreDtTm, AppHdr/CreDt (UTC, with offset)    $instd  InstdAgt and AppHdr/To
    $zero     a zero amount written with the currency's exponent (the ChrgsInf of CRED)
  InstrId is the pain.001's, else $msgid cut to CBPR+'s 16 characters. ChrgBr is the
  transaction's, else the PmtInf's, else SHAR. The instructing agent is the debtor agent.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:p="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
    xmlns:env="urn:swift:xsd:envelope"
    xmlns:head="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"
    xmlns:pacs="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
    exclude-result-prefixes="p env head pacs">

  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:strip-space elements="*"/>

  <xsl:param name="pmt" select="'1'"/>
  <xsl:param name="tx" select="'1'"/>
  <xsl:param name="uetr"/>
  <xsl:param name="msgid"/>
  <xsl:param name="created"/>
  <xsl:param name="instd"/>
  <xsl:param name="zero" select="'0'"/>

  <xsl:variable name="doc" select="/p:Document | /*/p:Document"/>
  <xsl:variable name="pi" select="$doc/p:CstmrCdtTrfInitn/p:PmtInf[position() = number($pmt)]"/>
  <xsl:variable name="txi" select="$pi/p:CdtTrfTxInf[position() = number($tx)]"/>
  <xsl:variable name="dbtragt" select="$pi/p:DbtrAgt/p:FinInstnId/p:BICFI"/>

  <xsl:template match="/">
    <Envelope xmlns="urn:swift:xsd:envelope">
      <head:AppHdr>
        <head:Fr><head:FIId><head:FinInstnId><head:BICFI><xsl:value-of select="$dbtragt"/></head:BICFI></head:FinInstnId></head:FIId></head:Fr>
        <head:To><head:FIId><head:FinInstnId><head:BICFI><xsl:value-of select="$instd"/></head:BICFI></head:FinInstnId></head:FIId></head:To>
        <head:BizMsgIdr><xsl:value-of select="$msgid"/></head:BizMsgIdr>
        <head:MsgDefIdr>pacs.008.001.08</head:MsgDefIdr>
        <head:BizSvc>swift.cbprplus.02</head:BizSvc>
        <head:CreDt><xsl:value-of select="$created"/></head:CreDt>
      </head:AppHdr>
      <pacs:Document>
        <pacs:FIToFICstmrCdtTrf>
          <pacs:GrpHdr>
            <pacs:MsgId><xsl:value-of select="$msgid"/></pacs:MsgId>
            <pacs:CreDtTm><xsl:value-of select="$created"/></pacs:CreDtTm>
            <pacs:NbOfTxs>1</pacs:NbOfTxs>
            <pacs:SttlmInf><pacs:SttlmMtd>INDA</pacs:SttlmMtd></pacs:SttlmInf>
          </pacs:GrpHdr>
          <xsl:apply-templates select="$txi"/>
        </pacs:FIToFICstmrCdtTrf>
      </pacs:Document>
    </Envelope>
  </xsl:template>

  <xsl:template match="p:CdtTrfTxInf">
    <xsl:variable name="ccy" select="p:Amt/p:InstdAmt/@Ccy"/>
    <xsl:variable name="amount" select="normalize-space(p:Amt/p:InstdAmt)"/>
    <xsl:variable name="chrgbr">
      <xsl:choose>
        <xsl:when test="p:ChrgBr"><xsl:value-of select="normalize-space(p:ChrgBr)"/></xsl:when>
        <xsl:when test="$pi/p:ChrgBr"><xsl:value-of select="normalize-space($pi/p:ChrgBr)"/></xsl:when>
        <xsl:otherwise>SHAR</xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <pacs:CdtTrfTxInf>
      <pacs:PmtId>
        <pacs:InstrId>
          <xsl:choose>
            <xsl:when test="p:PmtId/p:InstrId"><xsl:value-of select="p:PmtId/p:InstrId"/></xsl:when>
            <xsl:otherwise><xsl:value-of select="substring($msgid, 1, 16)"/></xsl:otherwise>
          </xsl:choose>
        </pacs:InstrId>
        <pacs:EndToEndId><xsl:value-of select="p:PmtId/p:EndToEndId"/></pacs:EndToEndId>
        <pacs:UETR><xsl:value-of select="$uetr"/></pacs:UETR>
      </pacs:PmtId>
      <pacs:IntrBkSttlmAmt Ccy="{$ccy}"><xsl:value-of select="$amount"/></pacs:IntrBkSttlmAmt>
      <pacs:IntrBkSttlmDt><xsl:value-of select="normalize-space($pi/p:ReqdExctnDt/p:Dt)"/></pacs:IntrBkSttlmDt>
      <pacs:InstdAmt Ccy="{$ccy}"><xsl:value-of select="$amount"/></pacs:InstdAmt>
      <pacs:ChrgBr><xsl:value-of select="$chrgbr"/></pacs:ChrgBr>
      <xsl:if test="$chrgbr = 'CRED'">
        <pacs:ChrgsInf>
          <pacs:Amt Ccy="{$ccy}"><xsl:value-of select="$zero"/></pacs:Amt>
          <pacs:Agt><pacs:FinInstnId><pacs:BICFI><xsl:value-of select="$dbtragt"/></pacs:BICFI></pacs:FinInstnId></pacs:Agt>
        </pacs:ChrgsInf>
      </xsl:if>
      <pacs:InstgAgt><pacs:FinInstnId><pacs:BICFI><xsl:value-of select="$dbtragt"/></pacs:BICFI></pacs:FinInstnId></pacs:InstgAgt>
      <pacs:InstdAgt><pacs:FinInstnId><pacs:BICFI><xsl:value-of select="$instd"/></pacs:BICFI></pacs:FinInstnId></pacs:InstdAgt>
      <xsl:apply-templates select="p:IntrmyAgt1 | p:IntrmyAgt2 | p:IntrmyAgt3" mode="copy"/>
      <xsl:choose>
        <xsl:when test="p:UltmtDbtr"><xsl:apply-templates select="p:UltmtDbtr" mode="copy"/></xsl:when>
        <xsl:otherwise><xsl:apply-templates select="$pi/p:UltmtDbtr" mode="copy"/></xsl:otherwise>
      </xsl:choose>
      <xsl:apply-templates select="$pi/p:Dbtr | $pi/p:DbtrAcct | $pi/p:DbtrAgt" mode="copy"/>
      <xsl:apply-templates select="p:CdtrAgt | p:Cdtr | p:CdtrAcct | p:UltmtCdtr | p:Purp | p:RgltryRptg | p:RmtInf" mode="copy"/>
    </pacs:CdtTrfTxInf>
  </xsl:template>

  <!-- A profile-checked part, renamed into the pacs.008 namespace; comments are dropped. -->
  <xsl:template match="*" mode="copy">
    <xsl:element name="pacs:{local-name()}">
      <xsl:copy-of select="@*"/>
      <xsl:apply-templates mode="copy"/>
    </xsl:element>
  </xsl:template>

  <xsl:template match="comment() | processing-instruction()" mode="copy"/>
</xsl:stylesheet>
