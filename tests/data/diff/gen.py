#!/usr/bin/env python3
# gen.py - writes the trace pairs of this folder (OTLP JSON) for the diff
# cases (tests/cases/diff_*.test): shop.json and its variants, and the bad
# inputs (a parent cycle, missing parents, a repeated span id). Run it from
# anywhere: python3 tests/data/diff/gen.py
import json, os
OUT=os.path.dirname(os.path.abspath(__file__)) + '/'
T0=1700000000000000000
KINDS={'internal':1,'server':2,'client':3}
def val(v):
    if isinstance(v,bool): return {'boolValue':v}
    if isinstance(v,int): return {'intValue':str(v)}
    if isinstance(v,float): return {'doubleValue':v}
    return {'stringValue':v}
def write(name, spans, tid='0af7651916cd43dd8448eb211c80319c', idbase=0):
    # spans: list of dict(id, parent, svc, name, kind, start, dur (ms), attrs, status, msg)
    by_svc={}
    for s in spans:
        by_svc.setdefault(s['svc'],[]).append(s)
    rs=[]
    def sid(i): return None if i is None else '%016x' % (i + idbase)
    for svc, ss in by_svc.items():
        out=[]
        for s in ss:
            d={'traceId':tid,'spanId':s.get('raw_id') or sid(s['id']),'name':s['name'],'kind':KINDS[s['kind']],
               'startTimeUnixNano':str(T0+int(s['start']*1e6)),'endTimeUnixNano':str(T0+int((s['start']+s['dur'])*1e6)),
               'attributes':[{'key':k,'value':val(v)} for k,v in s.get('attrs',{}).items()]}
            p = s.get('raw_parent') or sid(s['parent'])
            if p: d['parentSpanId']=p
            if s.get('status'):
                d['status']={'code':s['status']}
                if s.get('msg'): d['status']['message']=s['msg']
            out.append(d)
        rs.append({'resource':{'attributes':[{'key':'service.name','value':{'stringValue':svc}}]},
                   'scopeSpans':[{'scope':{'name':'diff-fixture'},'spans':out}]})
    with open(OUT+name,'w') as f:
        json.dump({'resourceSpans':rs}, f, indent=1)
        f.write('\n')

def S(id,parent,svc,name,kind,start,dur,**kw):
    d=dict(id=id,parent=parent,svc=svc,name=name,kind=kind,start=start,dur=dur)
    d.update(kw); return d

def base(order='42'):
    return [
     S(1,None,'gateway','POST /orders','server',0,50,attrs={'http.request.method':'POST','http.response.status_code':201,'url.path':'/orders','order.id':order,'request.time':'2026-12-03T10:00:0%s'%order[-1]}),
     S(2,1,'gateway','request handler','internal',1,48),
     S(3,2,'gateway','POST','client',2,20,attrs={'server.address':'orders','client.port':40000+int(order)}),
     S(4,3,'orders','POST /orders','server',3,18,attrs={'http.request.method':'POST'}),
     S(5,4,'orders','pg.query:SELECT stock','client',4,2,attrs={'db.system':'postgresql','db.statement':'SELECT level FROM stock WHERE sku = $1'}),
     S(6,4,'orders','pg.query:INSERT orders','client',7,0.2,attrs={'db.system':'postgresql','db.statement':'INSERT INTO orders (item) VALUES ($1)'}),
     S(7,2,'gateway','POST','client',23,25,attrs={'server.address':'payments'}),
     S(8,7,'payments','POST /charge','server',24,10,attrs={'payment.amount':2400,'payment.order':'/orders/'+order}),
     S(9,8,'payments','charge card','internal',25,8),
     S(10,1,'gateway','GET /orders/'+order,'internal',49,0.5),
    ]

b=base()
write('shop.json', b)
# the same run again: other ids, other order number, other times of day
b2=base('43')
for s in b2: s['start'] += 0.01
write('shop-ids.json', b2, tid='4bf92f3577b34da6a3ce929d0e0e4736', idbase=0x1000)
# N+1: the stock query runs once per item (5 times)
n=base()
extra=[S(20+k,4,'orders','pg.query:SELECT stock','client',4.5+k*0.5,0.3,attrs={'db.system':'postgresql','db.statement':'SELECT level FROM stock WHERE sku = $1'}) for k in range(4)]
n=n[:5]+extra+n[5:]
write('shop-nplus1.json', n)
# the payment call gone (a 3-span subtree), a cache lookup added
r=[s for s in base() if s['id'] not in (7,8,9)]
r.insert(5, S(30,4,'orders','redis GET','client',3.5,0.3,attrs={'db.system':'redis'}))
write('shop-removed.json', r)
# attributes and status
a=base()
a[0]['attrs']['http.response.status_code']=500
a[0]['attrs']['order.id']='99'
del a[4]['attrs']['db.statement']
a[7]['attrs']['payment.currency']='EUR'
a[7]['status']=2; a[7]['msg']='card declined'
a[8]['attrs']={'retry':True}
write('shop-attrs.json', a)
# kind changed: the INSERT is reported as internal
k=base(); k[5]['kind']='internal'
write('shop-kind.json', k)
# slower: the payment server span 10ms -> 30ms (and its parent), the INSERT 0.2ms -> 0.6ms (under 1ms)
sl=base(); sl[7]['dur']=30; sl[6]['dur']=45; sl[5]['dur']=0.6; sl[8]['dur']=9
write('shop-slow.json', sl)
# bad inputs
cyc=[S(1,None,'svc','root','server',0,10), S(2,4,'svc','a','internal',1,5), S(3,2,'svc','b','internal',2,3), S(4,3,'svc','c','internal',3,1)]
write('bad-cycle.json', cyc)
orph=[S(1,None,'gateway','POST /orders','server',0,50), S(4,0x77,'orders','POST /orders','server',3,18), S(5,4,'orders','pg.query:SELECT stock','client',4,2)]
write('bad-orphans.json', orph)
orph2=[S(1,None,'gateway','POST /orders','server',0,50), S(4,0x99,'orders','POST /orders','server',3,18), S(5,4,'orders','pg.query:SELECT stock','client',4,2), S(6,0x98,'orders','pg.query:SELECT stock','client',6,2)]
write('bad-orphans2.json', orph2)
# duplicate span ids: the later copy replaces the earlier (exporters retry)
dup=base()[:3]+[S(3,2,'gateway','POST','client',2,20,attrs={'server.address':'orders','retried':True})]
write('bad-dupes.json', dup)
