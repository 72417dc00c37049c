"""Writes a bank statement of N payments in (camt.053 or MT940) on the example account, each quoting a
contract of the mock's book (C00000001..), balances adding up: the input of bench/bank/import.sh.

    python3 statement.py ENTRIES camt|mt940 OUT CONTRACTS
"""
import sys
n=int(sys.argv[1]); kind=sys.argv[2]; out=sys.argv[3]; contracts=int(sys.argv[4])
def amt(p, sep='.'): return f"{p//100}{sep}{p%100:02d}"
entries=[(1000+ i%5000, f"C{(i*7919)%contracts+1:08d} instalment", f"E{i}") for i in range(1,n+1)]
total=sum(e[0] for e in entries)
with open(out,'w') as f:
    if kind=='camt':
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>B</MsgId><CreDtTm>2026-12-01T06:00:00</CreDtTm></GrpHdr><Stmt><Id>BENCH-1</Id><ElctrncSeqNb>1</ElctrncSeqNb><Acct><Id><IBAN>GB33BUKB20201555555555</IBAN></Id><Ccy>GBP</Ccy></Acct>')
        f.write(f'<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="GBP">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal><Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="GBP">{amt(total)}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>\n')
        for p,r,ref in entries:
            f.write(f'<Ntry><Amt Ccy="GBP">{amt(p)}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt><ValDt><Dt>2026-12-01</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>A Payer</Nm></Dbtr></RltdPties><RmtInf><Ustrd>{r}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n')
        f.write('</Stmt></BkToCstmrStmt></Document>\n')
    else:
        f.write(':20:BENCH-2\r\n:25:GB33BUKB20201555555555\r\n:28C:2/1\r\n:60F:C261201GBP0,00\r\n')
        for p,r,ref in entries:
            f.write(f':61:2612011201C{amt(p,",")}NTRFNONREF//M{ref}\r\n:86:/NAME/A Payer/REMI/{r}\r\n')
        f.write(f':62F:C261201GBP{amt(total,",")}\r\n')
