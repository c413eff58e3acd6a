(function(){
  document.querySelectorAll('.filter').forEach(function(f){
    var scope=document.getElementById(f.getAttribute('data-scope'));
    if(!scope){return;}
    f.classList.remove('hidden');
    var q=f.querySelector('input[type=search]');
    var boxes=f.querySelectorAll('input[type=checkbox]');
    function apply(){
      var text=(q&&q.value||'').toLowerCase();
      var off={};
      boxes.forEach(function(c){if(!c.checked){off[c.value]=1;}});
      scope.querySelectorAll('[data-filter]').forEach(function(el){
        var t=(el.getAttribute('data-filter')||'').toLowerCase();
        el.classList.toggle('hidden',!!text&&t.indexOf(text)<0);
      });
      scope.querySelectorAll('[data-class]').forEach(function(el){
        el.classList.toggle('hidden',!!off[el.getAttribute('data-class')]);
      });
    }
    if(q){q.addEventListener('input',apply);}
    boxes.forEach(function(c){c.addEventListener('change',apply);});
  });
  window.addEventListener('beforeprint',function(){
    document.querySelectorAll('details').forEach(function(d){d.open=true;});
  });
})();
